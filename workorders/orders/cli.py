"""Flask CLI: `flask --app wsgi work-orders import FILE.csv`."""

import click
from flask.cli import AppGroup

from workorders.cli import reports_domain_errors
from workorders.orders import service

work_orders_cli = AppGroup("work-orders", help="Work orders and their routes.")


@work_orders_cli.command("import")
@click.argument("file", type=click.File("rb"))
@reports_domain_errors
def import_file(file) -> None:
    """Import the work orders of a CSV FILE: all of them, or none when any line is wrong.

    Columns: number,customer,product,quantity,due_date,priority,route (route: process codes joined by '>').
    """
    outcome = service.import_csv(None, file.read())
    click.echo(outcome.message)
