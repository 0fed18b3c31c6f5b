from __future__ import annotations

from wtforms import (
    DateField,
    HiddenField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]  # WTForms 3.2+, not in types-WTForms yet
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from app.forms import TebikiForm
from app.org.structure import SECTION_KINDS


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def split_tags(value: str | None) -> list[str]:
    import re

    return [t.strip() for t in re.split(r"[,、，;\s]+", value or "") if t.strip()]


class DraftForm(TebikiForm):
    """The editor of a revision (and, with slug, of a new manual)."""

    title = StringField("マニュアル名", validators=[DataRequired("マニュアル名を入力してください。"), Length(max=200)])
    targets = MultiCheckboxField("対象の課（区役所・総合支所）", choices=[SelectChoice(s, s) for s in SECTION_KINDS])
    tags = StringField("タグ", validators=[Length(max=500)])
    effective = DateField("施行日", validators=[Optional()], format="%Y-%m-%d")
    review_months = IntegerField("見直し周期（月）", default=12, validators=[
        InputRequired("見直し周期を入力してください。"), NumberRange(1, 120, "見直し周期は1〜120か月です。")])
    reason = TextAreaField("改正理由", validators=[Length(max=2000)])
    summary = TextAreaField("改正の概要", validators=[Length(max=4000)])
    body = TextAreaField("本文（Markdown）")
    head = HiddenField()


class NewManualForm(DraftForm):
    slug = StringField("識別名（URLに使う半角英字）", validators=[
        DataRequired("識別名を入力してください。"), Length(max=80)])


class ConsultForm(TebikiForm):
    deadline = DateField("意見照会の期限", format="%Y-%m-%d", validators=[DataRequired("期限を入力してください。")])


class CommentForm(TebikiForm):
    anchor = SelectField("対象の見出し", choices=[])
    body = TextAreaField("意見", validators=[DataRequired("意見の内容を入力してください。"), Length(max=5000)])


class DispositionForm(TebikiForm):
    disposition = SelectField("対応", choices=[SelectChoice("reflected", "反映した"),
                                             SelectChoice("not_reflected", "反映しない")])
    reason = TextAreaField("理由・対応内容", validators=[Length(max=2000)])


class SubmitForm(TebikiForm):
    consult_unit = SelectField("合議先（任意）", coerce=int, choices=[])


class DecisionForm(TebikiForm):
    comment = TextAreaField("コメント", validators=[Length(max=2000)])
