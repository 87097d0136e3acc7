"""Login form, and the top bar's language selector."""

from flask_wtf import FlaskForm
from wtforms import HiddenField, PasswordField, StringField
from wtforms.validators import DataRequired, Length


class LoginForm(FlaskForm):
    username = StringField("Username", validators=[DataRequired(), Length(max=64)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=256)])


class LanguageForm(FlaskForm):
    """The language selector: which language, and the page to go back to. The service checks the value."""

    language = StringField(validators=[Length(max=16)])
    next = HiddenField()
