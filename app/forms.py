"""The one form base: every form's built-in messages (WTForms and Flask-WTF) read in Japanese.

WTForms asks its `Meta.get_translations` for each message it makes itself (「Not a valid date
value.」…); this catalogue answers for every message id WTForms 3 and Flask-WTF define, so no
English reaches a user even where a validator has no explicit message. A message not in the
catalogue (a future WTForms) becomes a plain Japanese one rather than English."""

from __future__ import annotations

from flask_wtf import FlaskForm

from app.errors import ValidationError

GENERIC = "入力内容が正しくありません。"

MESSAGES: dict[str, str] = {
    "This field is required.": "この項目を入力してください。",
    "Invalid input.": "入力内容が正しくありません。",
    "Invalid field name '%s'.": "項目名「%s」が正しくありません。",
    "Field must be equal to %(other_name)s.": "確認用の入力が一致しません。",
    "Field must be at least %(min)d character long.": "%(min)d文字以上で入力してください（現在 %(length)d 文字）。",
    "Field must be at least %(min)d characters long.": "%(min)d文字以上で入力してください（現在 %(length)d 文字）。",
    "Field cannot be longer than %(max)d character.": "%(max)d文字以内で入力してください（現在 %(length)d 文字）。",
    "Field cannot be longer than %(max)d characters.": "%(max)d文字以内で入力してください（現在 %(length)d 文字）。",
    "Field must be exactly %(max)d character long.": "%(max)d文字で入力してください（現在 %(length)d 文字）。",
    "Field must be exactly %(max)d characters long.": "%(max)d文字で入力してください（現在 %(length)d 文字）。",
    "Field must be between %(min)d and %(max)d characters long.":
        "%(min)d〜%(max)d文字で入力してください（現在 %(length)d 文字）。",
    "Number must be at least %(min)s.": "%(min)s以上の数を入力してください。",
    "Number must be at most %(max)s.": "%(max)s以下の数を入力してください。",
    "Number must be between %(min)s and %(max)s.": "%(min)s〜%(max)sの数を入力してください。",
    "Date must be at least %(min)s.": "%(min)s以降の日付を入力してください。",
    "Date must be at most %(max)s.": "%(max)s以前の日付を入力してください。",
    "Date must be between %(min)s and %(max)s.": "%(min)s〜%(max)sの日付を入力してください。",
    "Invalid email address.": "メールアドレスの形式が正しくありません。",
    "Invalid IP address.": "IPアドレスの形式が正しくありません。",
    "Invalid Mac address.": "MACアドレスの形式が正しくありません。",
    "Invalid URL.": "URLの形式が正しくありません。",
    "Invalid UUID.": "UUIDの形式が正しくありません。",
    "Invalid value, must be one of: %(values)s.": "次のいずれかを入力してください: %(values)s。",
    "Invalid value, can't be any of: %(values)s.": "次の値は使えません: %(values)s。",
    "This field cannot be edited.": "この項目は変更できません。",
    "This field is disabled and cannot have a value.": "この項目は入力できません。",
    "Invalid Choice: could not coerce.": "一覧から選択してください。",
    "Invalid choice(s): one or more data inputs could not be coerced.": "一覧から選択してください。",
    "Choices cannot be None.": "選択肢がありません。",
    "Not a valid choice.": "一覧から選択してください。",
    "'%(value)s' is not a valid choice for this field.": "「%(value)s」は選択できません。",
    "'%(value)s' are not valid choices for this field.": "「%(value)s」は選択できません。",
    "Not a valid datetime value.": "日時を正しく入力してください（例: 2025-04-01 09:00）。",
    "Not a valid date value.": "日付を正しく入力してください（例: 2025-04-01）。",
    "Not a valid time value.": "時刻を正しく入力してください（例: 09:00）。",
    "Not a valid week value.": "週を正しく入力してください。",
    "Not a valid integer value.": "半角の整数で入力してください。",
    "Not a valid decimal value.": "半角の数値で入力してください。",
    "Not a valid float value.": "半角の数値で入力してください。",
    "Invalid CSRF Token.": "フォームの有効期限が切れました。画面を再読み込みしてください。",
    "CSRF token missing.": "フォームの有効期限が切れました。画面を再読み込みしてください。",
    "CSRF failed.": "フォームの有効期限が切れました。画面を再読み込みしてください。",
    "CSRF token expired.": "フォームの有効期限が切れました。画面を再読み込みしてください。",
    "File does not have an approved extension: {extensions}": "この形式のファイルは受け付けません（{extensions}）。",
    "File does not have an approved extension.": "この形式のファイルは受け付けません。",
    "File must be between {min_size} and {max_size} bytes.": "ファイルの大きさが範囲外です（{min_size}〜{max_size}バイト）。",
}


class JapaneseTranslations:
    """What WTForms calls as `gettext` / `ngettext`."""

    def gettext(self, string: str) -> str:
        found = MESSAGES.get(string)
        if found is not None:
            return found
        # Not a message we know: a default label (a field's name) stays, a sentence does not.
        return GENERIC if string.rstrip().endswith((".", ":")) else string

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return self.gettext(singular if n == 1 else plural)


JAPANESE = JapaneseTranslations()


class TebikiForm(FlaskForm):
    """Base of every form in the application (tests/test_japanese_messages.py checks it)."""

    class Meta:
        def get_translations(self, form: object) -> JapaneseTranslations:
            return JAPANESE


def validated(form: TebikiForm) -> TebikiForm:
    """The form when its POST is valid; otherwise a refusal naming each field and its problem in
    Japanese (the view's page shows it as messages), never a bare 400."""
    if form.validate_on_submit():
        return form
    details = [f"{getattr(form, name).label.text}: {message}"
               for name, messages in form.errors.items() if name != "csrf_token" for message in messages]
    if not details:
        raise ValidationError("フォームの有効期限が切れたか、不正な送信です。画面を再読み込みしてから、もう一度操作してください。")
    raise ValidationError("入力内容に誤りがあります。", details=details)
