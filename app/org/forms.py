from __future__ import annotations

from wtforms import BooleanField, PasswordField, SelectField, StringField
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]  # WTForms 3.2+, not in types-WTForms yet
from wtforms.validators import DataRequired, Email, EqualTo, Length, Optional

from app.forms import TebikiForm
from app.org.models import POSITIONS


class LoginForm(TebikiForm):
    login = StringField("ログインID", validators=[DataRequired("ログインIDを入力してください。")])
    password = PasswordField("パスワード", validators=[DataRequired("パスワードを入力してください。")])


class UserForm(TebikiForm):
    login = StringField("ログインID", validators=[DataRequired("ログインIDを入力してください。"), Length(max=64)])
    name = StringField("氏名", validators=[DataRequired("氏名を入力してください。"), Length(max=100)])
    employee_no = StringField("職員番号", validators=[Optional(), Length(max=20)])
    email = StringField("メールアドレス", validators=[Optional(), Email("メールアドレスの形式が正しくありません。")])
    unit_id = SelectField("所属", coerce=int)
    position = SelectField("職", choices=[SelectChoice(p, p) for p in POSITIONS])
    duties = StringField("担当業務", validators=[Optional(), Length(max=300)])
    is_fixed_term = BooleanField("会計年度任用職員")
    is_admin = BooleanField("システム管理者")
    local_login = BooleanField("ローカルアカウント（ディレクトリを使わず、このシステムのパスワードでログインする非常用の管理者）")
    password = PasswordField("初期パスワード", validators=[Optional(), Length(min=8, message="パスワードは8文字以上にしてください。")])


class PasswordForm(TebikiForm):
    password = PasswordField("新しいパスワード", validators=[
        DataRequired("新しいパスワードを入力してください。"),
        Length(min=8, message="パスワードは8文字以上にしてください。"),
    ])
    confirm = PasswordField("新しいパスワード（確認）", validators=[EqualTo("password", "確認用のパスワードが一致しません。")])


class OwnPasswordForm(PasswordForm):
    current = PasswordField("現在のパスワード", validators=[DataRequired("現在のパスワードを入力してください。")])


class UnitForm(TebikiForm):
    kind = SelectField("種別", choices=[SelectChoice("hq", "本庁"), SelectChoice("ward", "区役所・総合支所")])
    group_name = StringField("局・区役所名", validators=[DataRequired("局・区役所名を入力してください。"), Length(max=50)])
    section = StringField("課（担当）名", validators=[DataRequired("課（担当）名を入力してください。"), Length(max=50)])


class ConfirmForm(TebikiForm):
    """A bare POST form (buttons such as 無効にする): carries only the CSRF token."""
