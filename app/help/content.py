"""The help text: for each role, its main tasks as numbered steps in the words of the screens,
each with the page where the task starts."""

from __future__ import annotations

from dataclasses import dataclass

from app.org.models import CHIEF, HEAD


@dataclass(frozen=True)
class Task:
    title: str
    steps: tuple[str, ...]
    endpoint: str | None = None  # where the task starts
    link_label: str = ""


@dataclass(frozen=True)
class Role:
    key: str
    label: str
    summary: str
    tasks: tuple[Task, ...]


SEARCH = Task("マニュアル・判断事例を調べる", (
    "画面上部の検索欄に、窓口で聞かれた言葉をそのまま入力します（例:「委任状 日付なし」「国保 喪失 離職票」）。",
    "表記ゆれ（引継ぎ／引き継ぎ、個人番号カード／マイナンバーカードなど）は自動でまとめて検索されます。",
    "結果のマニュアルを開くと、いま施行中の版が表示されます。過去の版は「改正履歴」から、ある日に適用されていた版は"
    "「指定した日に適用されていた版を表示」から確認できます。",
    "判断事例集には、本庁が回答し全区に公表した疑義照会の結論が番号付きで載っています。",
), "manuals.index", "マニュアル一覧へ")

NOTICE = Task("改正の周知を確認する", (
    "マニュアルが改正されると「通知」に未読の数が表示されます。",
    "通知を開き、新旧対照表で変更点を確認します。",
    "課内で周知したら、所属長（課長）または委任された職員が「周知済として確認する」を押します。期限を過ぎると本庁に表示されます。",
), "notices.inbox", "通知へ")

HANDOVER = Task("人事異動のときに事務引継書を作る", (
    "人事異動が登録されると、異動する職員の事務引継書が自動で作られます（「事務引継書」から開きます）。",
    "管理担当のマニュアル・進行中の照会や改正案が一覧になっているので、後任者と引継事項を記入して「保存」します。",
    "同じ人事異動で着任予定の職員も後任者に選べます（「着任予定」と表示）。",
    "書き終えたら「所属長に提出する」を押します。印刷用の画面から紙でも残せます。",
), "handover.index", "事務引継書へ")

HANDOVER_CONFIRM = Task("事務引継書を確認する（所属長）", (
    "「事務引継書」で課内の職員の引継書を開きます（提出されたものは「確認待ち」）。",
    "内容を確認して「確認済みにする」を押します。不足があれば、コメントを付けて差し戻します。",
), "handover.index", "事務引継書へ")

DRAFT = Task("マニュアルを改正する（起案）", (
    "マニュアルの画面で「改正案を作成」を押します（廃止するときは「廃止案を作成」）。",
    "本文を編集し、改正理由・改正の概要・施行日を入力して「保存」します。右側のプレビューで仕上がりを確かめられます。",
    "区役所の意見を聞くときは、改正案の画面で期限を決めて「意見照会する」を押し、届いた意見ごとに対応（反映した／反映しない）を記録します。",
    "できあがったら「決裁に回付する」を押します。係長の審査、課長の決裁を経て公布され、対象の区に通知が届きます。",
    "差し戻されたら、コメントを読んで直し、もう一度回付します。",
), "revisions.index", "起案・決裁へ")

ANSWER = Task("区役所からの照会に回答する", (
    "「照会」に届いた疑義照会・改善提案が表示されます（経過日数の長いものから対応してください）。",
    "照会を開き、回答と根拠（法令の条項・マニュアルの該当箇所）を入力します。全区に知らせる内容なら「全区共有」にします。",
    "「課長の決裁に回す」を押すと、課長の決裁後に照会した課へ回答が届き、全区共有なら判断事例として公表されます。",
), "rulings.inquiries", "照会へ")

APPROVE = Task("改正案を審査・決裁する", (
    "ダッシュボードの「決裁待ち」、または「起案・決裁」に、あなたの審査・決裁を待っている改正案が表示されます。",
    "改正案を開き、新旧対照表で変更点、改正理由、意見照会への対応を確認します。",
    "よければ「審査（承認）する」／「決裁（承認）する」を、直してほしいときはコメントを書いて「差し戻す」を押します。",
    "課長の決裁で公布されます。公布前の施行日（遡及適用）は、決裁時に確認のチェックが必要です。",
), "revisions.index", "起案・決裁へ")

ASK = Task("本庁に照会する", (
    "マニュアルの画面で「このマニュアルについて照会する」、または目次の各節の「照会」を押します。",
    "件名と照会内容を書き、急ぐときは緊急度を「至急」にして送信します。",
    "回答が届くと「照会」に表示されます。全区共有の回答は判断事例集にも載ります。",
), "rulings.inquiries", "照会へ")

CONSULT = Task("意見照会に答える", (
    "本庁が改正案への意見を求めると「意見照会」に表示されます（期限つき）。",
    "改正案を開いて新旧対照表を確認し、対象の見出しを選んで意見を書き「意見を提出する」を押します。",
), "revisions.index", "意見照会へ")

ADMIN_TASKS = (
    Task("職員と所属を管理する", (
        "「管理」の「職員」で職員を登録・変更・無効にします。ディレクトリ（LDAP）と連携しているときは同期で反映されます。",
        "「組織（所属）」で課や担当を追加します。一覧は本庁（局の順）、区役所・総合支所（青葉区から秋保総合支所まで）の順に並びます。",
    ), "admin.users", "職員の管理へ"),
    Task("人事異動を登録する", (
        "「管理」の「人事異動の取込」で、人事異動ファイル（CSV または Excel）を選びます。Excel の既定の CSV（Shift_JIS）と"
        "和暦の発令日（令和9年4月1日）もそのまま読めます。",
        "内容を確認して登録すると、異動する職員の事務引継書が作られます。",
        "発令日の前なら、人事異動の画面から訂正（訂正したファイルで）や取消ができます。作られた事務引継書も合わせて直ります。",
    ), "handover.staff_import", "人事異動の取込へ"),
    Task("操作の記録を確かめる", (
        "「管理」の「監査ログ」に、登録・変更・決裁・公布・確認などすべての操作が残ります。記録は変更・削除できません。",
        "操作・対象の種類・操作者・期間で絞り込めます。",
    ), "admin.audit_log", "監査ログへ"),
)

ROLES: tuple[Role, ...] = (
    Role("hq-staff", "本庁 担当", "所管するマニュアルの改正案を作り、区役所からの照会に回答します。",
         (DRAFT, ANSWER, SEARCH, HANDOVER)),
    Role("hq-chief", "本庁 係長", "改正案と照会への回答を審査します。",
         (APPROVE, ANSWER, DRAFT, SEARCH, HANDOVER)),
    Role("hq-head", "本庁 課長（所属長）", "改正案と照会への回答を決裁し、課内の事務引継書を確認します。",
         (APPROVE, ANSWER, HANDOVER_CONFIRM, SEARCH, HANDOVER)),
    Role("ward-staff", "区役所・総合支所 担当", "窓口でマニュアルと判断事例を調べ、わからないことは本庁に照会します。",
         (SEARCH, ASK, CONSULT, NOTICE, HANDOVER)),
    Role("ward-chief", "区役所・総合支所 係長", "課内の照会や意見照会への対応をまとめます。",
         (SEARCH, ASK, CONSULT, NOTICE, HANDOVER)),
    Role("ward-head", "区役所・総合支所 課長（所属長）", "改正の周知を確認し、課内の事務引継書を確認します。",
         (NOTICE, HANDOVER_CONFIRM, SEARCH, ASK, CONSULT)),
    Role("admin", "システム管理者", "職員・所属・人事異動を管理し、操作の記録を確かめます。", (*ADMIN_TASKS, SEARCH)),
)
BY_KEY = {r.key: r for r in ROLES}


def role_of(user: object) -> Role:
    """The help that fits the signed-in user (any user object with the usual attributes)."""
    if getattr(user, "is_admin", False):
        return BY_KEY["admin"]
    side = "hq" if getattr(user, "is_hq", False) else "ward"
    position = getattr(user, "position", "")
    rank = "head" if position == HEAD else "chief" if position == CHIEF else "staff"
    return BY_KEY[f"{side}-{rank}"]
