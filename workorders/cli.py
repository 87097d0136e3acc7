"""Flask CLI: departments, processes, users and the demo data."""

import secrets
from collections.abc import Callable
from functools import wraps

import click
from flask import Flask
from flask.cli import AppGroup

from workorders.departments import service as departments_service
from workorders.errors import DomainError
from workorders.extensions import db
from workorders.users import service as users_service
from workorders.users.models import Role

departments_cli = AppGroup("departments", help="Departments of the shop.")
processes_cli = AppGroup("processes", help="Process steps and the department doing each.")
users_cli = AppGroup("users", help="People who use the board.")


def reports_domain_errors(command: Callable) -> Callable:
    """Show a domain error as a one-line CLI error (exit 1) with nothing written."""

    @wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except DomainError as error:
            db.session.rollback()
            raise click.ClickException(error.detail) from error

    return wrapper


@departments_cli.command("create")
@click.argument("code")
@click.argument("name")
@reports_domain_errors
def create_department(code: str, name: str) -> None:
    """Add department CODE called NAME."""
    department = departments_service.create_department(code, name)
    click.echo(f"Created department {department.code} ({department.name}).")


@departments_cli.command("list")
def list_departments() -> None:
    """List departments."""
    for department in departments_service.list_departments():
        click.echo(f"{department.code}\t{department.name}")


@processes_cli.command("create")
@click.argument("code")
@click.argument("name")
@click.option("--department", "department_code", required=True, help="Code of the department doing it.")
@click.option("--parallel", is_flag=True, help="The next step need not wait for this one.")
@reports_domain_errors
def create_process(code: str, name: str, department_code: str, parallel: bool) -> None:
    """Add process CODE called NAME, done by a department."""
    process = departments_service.create_process(code, name, department_code, parallel)
    click.echo(f"Created process {process.code} ({process.name}) in {process.department.code}.")


@processes_cli.command("list")
def list_processes() -> None:
    """List processes."""
    for process in departments_service.list_processes():
        flag = "\tparallel" if process.parallel else ""
        click.echo(f"{process.code}\t{process.name}\t{process.department.code}{flag}")


@users_cli.command("create")
@click.argument("username")
@click.option("--role", type=click.Choice([role.value for role in Role]), required=True)
@click.option("--department", "departments", multiple=True, help="Department code; repeat for several.")
@click.option("--password", help="Initial password; a random one is made and printed when left out.")
@click.option("--name", "display_name", help="Name shown on the board (default: the username).")
@reports_domain_errors
def create_user(username: str, role: str, departments: tuple[str, ...], password: str | None, display_name) -> None:
    """Add a user."""
    generated = password is None
    password = password or secrets.token_urlsafe(12)
    user = users_service.create_user(username, role, departments, password, display_name)
    click.echo(f"Created {user.role} {user.username}.")
    if generated:
        click.echo(f"Password: {password}")


@users_cli.command("token")
@click.argument("username")
@reports_domain_errors
def token(username: str) -> None:
    """Print a new API token for USERNAME (the previous one stops working)."""
    click.echo(users_service.issue_api_token(username))


@click.command("seed-demo")
def seed_demo() -> None:
    """Fill an empty database with a believable print shop, and print the logins."""
    from workorders.demo import DEMO_PASSWORD, demo_logins, seed

    summary = seed()
    if summary is None:
        click.echo("The database already has users; nothing was added.")
    else:
        click.echo(f"Added {summary}.")
    click.echo(f"Demo logins (password for each: {DEMO_PASSWORD}):")
    for username, role, departments in demo_logins():
        click.echo(f"  {username:<10} {role:<10} {departments}")


def init_app(app: Flask) -> None:
    from workorders.orders.cli import work_orders_cli

    for command in (departments_cli, processes_cli, users_cli, work_orders_cli, seed_demo):
        app.cli.add_command(command)
