"""The fields of the admin forms. Choices are checked by the services, which name what is wrong."""

from flask_wtf import FlaskForm
from wtforms import BooleanField, Field, PasswordField, StringField
from wtforms.validators import DataRequired, Length, Regexp, ValidationError


def _strip(value: str | None) -> str | None:
    return value.strip() if isinstance(value, str) else value


def one_line(label: str) -> Regexp:
    return Regexp(r"^[^\x00-\x1f\x7f]*\Z", message=f"{label} may not contain control characters.")


class DepartmentsField(Field):
    """Department codes, one `departments` checkbox each; unknown codes are the service's to name."""

    def process_formdata(self, valuelist):
        self.data = [value.strip() for value in valuelist if value.strip()]

    def pre_validate(self, form):
        if len(self.data) > 100:
            raise ValidationError("Choose at most 100 departments.")


class UserEditForm(FlaskForm):
    display_name = StringField(
        "Name shown on the board", filters=[_strip], validators=[Length(max=120), one_line("Name shown on the board")]
    )
    role = StringField("Role", validators=[Length(max=16)])  # the service names a role that does not exist
    departments = DepartmentsField("Departments", default=list)


class UserCreateForm(UserEditForm):
    username = StringField(
        "Username", filters=[_strip], validators=[DataRequired("Username is required."), Length(max=64)]
    )
    password = PasswordField("Password", validators=[DataRequired("Password is required."), Length(max=256)])


class PasswordForm(FlaskForm):
    password = PasswordField("New password", validators=[DataRequired("New password is required."), Length(max=256)])


class DepartmentForm(FlaskForm):
    code = StringField("Code", filters=[_strip], validators=[DataRequired("Code is required."), Length(max=32)])
    name = StringField(
        "Name", filters=[_strip], validators=[DataRequired("Name is required."), Length(max=120), one_line("Name")]
    )


class ProcessForm(DepartmentForm):
    department = StringField("Department", validators=[DataRequired("Department is required."), Length(max=32)])
    parallel = BooleanField("Parallel: the next step need not wait for this one")


def first_error(form: FlaskForm) -> str:
    for field in form:
        if field.errors:
            message = field.errors[0]
            return message if field.label.text in message else f"{field.label.text}: {message}"
    return "The form is incomplete."
