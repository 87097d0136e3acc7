"""Creating departments and processes."""

import re

from flask_babel import gettext as _
from sqlalchemy import select

from workorders.departments.models import Department, Process
from workorders.errors import BadInput
from workorders.extensions import db

CODE_PATTERN = re.compile(r"^[A-Z0-9][A-Z0-9_-]{0,31}$")


def clean_code(code: str) -> str:
    """Codes are short upper-case identifiers such as PRINT or DIE-CUT."""
    cleaned = (code or "").strip().upper()
    if not CODE_PATTERN.match(cleaned):
        raise BadInput(_("Code %(code)r must be 1–32 letters, digits, '-' or '_'.", code=code))
    return cleaned


def clean_name(name: str) -> str:
    cleaned = (name or "").strip()
    if not cleaned or len(cleaned) > 120:
        raise BadInput(_("A name is needed (at most %(most)s characters).", most=120))
    return cleaned


def department_by_code(code: str) -> Department:
    department = db.session.scalar(select(Department).where(Department.code == code.strip().upper()))
    if department is None:
        raise BadInput(_("There is no department %(code)r.", code=code))
    return department


def create_department(code: str, name: str) -> Department:
    """Add a department. Raises BadInput for a bad or taken code."""
    code, name = clean_code(code), clean_name(name)
    if db.session.scalar(select(Department.id).where(Department.code == code)):
        raise BadInput(_("Department %(code)s exists already.", code=code))
    department = Department(code=code, name=name)
    db.session.add(department)
    db.session.commit()
    return department


def create_process(code: str, name: str, department_code: str, parallel: bool = False) -> Process:
    """Add a process step done by a department. Raises BadInput for a bad or taken code or unknown department."""
    code, name = clean_code(code), clean_name(name)
    department = department_by_code(department_code)
    if db.session.scalar(select(Process.id).where(Process.code == code)):
        raise BadInput(_("Process %(code)s exists already.", code=code))
    process = Process(code=code, name=name, department=department, parallel=parallel)
    db.session.add(process)
    db.session.commit()
    return process


def list_departments() -> list[Department]:
    return list(db.session.scalars(select(Department).order_by(Department.code)))


def list_processes() -> list[Process]:
    return list(db.session.scalars(select(Process).order_by(Process.code)))
