"""The fields of the admin forms. Choices are checked by the services, which name what is wrong."""

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, Field, PasswordField, StringField
from wtforms.validators import DataRequired, Length, Regexp, ValidationError

from workorders.forms import Form


def _strip(value: str | None) -> str | None:
    return value.strip() if isinstance(value, str) else value


def one_line(label: str) -> Regexp:
    return Regexp(r"^[^\x00-\x1f\x7f]*\Z", message=_l("%(field)s may not contain control characters.", field=label))


class DepartmentsField(Field):
    """Department codes, one `departments` checkbox each; unknown codes are the service's to name."""

    def process_formdata(self, valuelist):
        self.data = [value.strip() for value in valuelist if value.strip()]

    def pre_validate(self, form):
        if len(self.data) > 100:
            raise ValidationError(_("Choose at most %(most)s departments.", most=100))


class UserEditForm(Form):
    display_name = StringField(
        _l("Name shown on the board"),
        filters=[_strip],
        validators=[Length(max=120), one_line(_l("Name shown on the board"))],
    )
    role = StringField(_l("Role"), validators=[Length(max=16)])  # the service names a role that does not exist
    departments = DepartmentsField(_l("Departments"), default=list)


class UserCreateForm(UserEditForm):
    username = StringField(
        _l("Username"), filters=[_strip], validators=[DataRequired(_l("Username is required.")), Length(max=64)]
    )
    password = PasswordField(_l("Password"), validators=[DataRequired(_l("Password is required.")), Length(max=256)])


class PasswordForm(Form):
    password = PasswordField(
        _l("New password"), validators=[DataRequired(_l("New password is required.")), Length(max=256)]
    )


class DepartmentForm(Form):
    code = StringField(_l("Code"), filters=[_strip], validators=[DataRequired(_l("Code is required.")), Length(max=32)])
    name = StringField(
        _l("Name"),
        filters=[_strip],
        validators=[DataRequired(_l("Name is required.")), Length(max=120), one_line(_l("Name"))],
    )


class ProcessForm(DepartmentForm):
    department = StringField(_l("Department"), validators=[DataRequired(_l("Department is required.")), Length(max=32)])
    parallel = BooleanField(_l("Parallel: the next step need not wait for this one"))


def first_error(form: Form) -> str:
    for field in form:
        if field.errors:
            message, label = str(field.errors[0]), str(field.label.text)
            return message if label in message else _("%(field)s: %(problem)s", field=label, problem=message)
    return _("The form is incomplete.")
