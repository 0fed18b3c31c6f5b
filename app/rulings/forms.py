from __future__ import annotations

from wtforms import BooleanField, HiddenField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]  # WTForms 3.2+, not in types-WTForms yet
from wtforms.validators import DataRequired, Length

from app.forms import TebikiForm
from app.org.structure import SECTION_KINDS
from app.revisions.forms import MultiCheckboxField
from app.rulings.models import KINDS, URGENCIES


class InquiryForm(TebikiForm):
    kind = SelectField("種別", choices=[SelectChoice(k, k) for k in KINDS])
    subject = StringField("件名", validators=[DataRequired("件名を入力してください。"), Length(max=200)])
    body = TextAreaField("照会内容", validators=[DataRequired("照会内容を入力してください。"), Length(max=10_000)])
    urgency = SelectField("緊急度", choices=[SelectChoice(u, u) for u in URGENCIES])
    manual = HiddenField()
    anchor = SelectField("対象の節", choices=[], validate_choice=False)
    owner_unit = SelectField("照会先（所管課）", coerce=int, choices=[], validate_choice=False)


class AnswerForm(TebikiForm):
    answer = TextAreaField("回答", validators=[Length(max=10_000)])
    basis = TextAreaField("根拠（法令の条項・マニュアルの該当箇所）", validators=[Length(max=2000)])
    tags = StringField("タグ（「、」区切り）", validators=[Length(max=300)])
    share_all = BooleanField("全区共有（判断事例として全区に公表する）")
    notice_sections = MultiCheckboxField("通知先の課（関連マニュアルがない場合）",
                                         choices=[SelectChoice(s, s) for s in SECTION_KINDS])


class NoteForm(TebikiForm):
    comment = TextAreaField("コメント", validators=[Length(max=2000)])
    version = StringField("版")
