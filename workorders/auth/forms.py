"""Login form, and the top bar's language selector."""

from wtforms import HiddenField, PasswordField, StringField
from wtforms.validators import DataRequired, Length

from workorders.forms import Form


class LoginForm(Form):
    username = StringField("Username", validators=[DataRequired(), Length(max=64)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=256)])


class LanguageForm(Form):
    """The language selector: which language, and the page to go back to. The service checks the value."""

    language = StringField(validators=[Length(max=16)])
    next = HiddenField()
