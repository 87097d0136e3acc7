"""Every model in one import, for Alembic and the shell."""

from workorders.departments.models import Department, Process
from workorders.notifications.models import Notification
from workorders.orders.models import WorkOrder
from workorders.tasks.models import Task, TaskEvent
from workorders.users.models import User, user_departments

__all__ = ["Department", "Notification", "Process", "Task", "TaskEvent", "User", "WorkOrder", "user_departments"]
