"""Errors that reach users, each with an exit code and a Vietnamese and English text.

    AgreeflowError                    (base; never raised itself)
    ├── UserInputError        exit 2  bad input; nothing was written
    │   ├── NotInitialisedError       database has no schema yet
    │   ├── UnknownCaseError
    │   ├── UnknownWorkflowError
    │   ├── UnknownTriggerError
    │   ├── UnknownUnitError
    │   ├── InactiveUnitError         a unit that exists but is retired (or not yet active) on the day
    │   ├── UnknownPersonError
    │   ├── FieldValueError           malformed ``--field k=v`` or wrong type
    │   ├── MissingFieldsError        required fields/documents not supplied
    │   ├── DefinitionError           a workflow file has problems (all listed)
    │   ├── DirectoryFileError        a directory file has problems (all listed)
    │   ├── PhraseError               an unparseable deadline phrase
    │   ├── DateValueError            a date (or year) that is malformed or off the calendar
    │   ├── InputFileError            a file that cannot be read / imported
    │   ├── PlanFileError             a plan (task table) with bad rows (all listed)
    │   ├── ReportMapError            report-map.yaml has problems (all listed)
    │   ├── SimulationOnlyError       --now on a database that is not a simulation
    │   ├── NotSignedInError          a write on a real database with nobody signed in
    │   ├── DatabaseUrlError          a database URL that is malformed or cannot be reached
    │   ├── OutputPathError           an output path that is a folder or cannot be written
    │   ├── AttachmentTooLargeError   a file given to --attach over the configured limit
    │   └── OffCalendarError          a computation that needs days outside the calendar's years
    │   └── OptionValueError          a malformed option value (--from, --year, ...)
    ├── RefusedError          exit 3  a rule refused it; the refusal is logged
    │   ├── RoleRefusedError          the person holds none of the step's roles
    │   ├── ScopeRefusedError         an officer outside the case's unit
    │   ├── PositionRefusedError      the step needs a position (the Chairman…) the person does not hold
    │   ├── StateRefusedError
    │   ├── GuardRefusedError
    │   ├── StaleCaseError            the case changed since it was read
    │   ├── ReadOnlyError             auditors change nothing
    │   ├── SignInRefusedError        wrong password, no password, or locked for now
    │   ├── OnBehalfRefusedError      --as another person without the admin role
    │   └── TimeOrderRefusedError     an effective time before the case's last event or after now
    └── TamperingError        exit 4  audit verify found a broken chain

Subclasses keep their details as attributes (case, state, trigger, allowed...)
so the CLI can print them as JSON as well as text.
"""

from __future__ import annotations

from collections.abc import Iterable
from difflib import get_close_matches
from typing import Any, ClassVar

from agreeflow.engine.core.i18n import t


def did_you_mean(word: str, options: Iterable[str]) -> str:
    """Return the closest option to ``word`` or ''."""
    found = get_close_matches(word, list(options), n=1, cutoff=0.6)
    return found[0] if found else ""


def unknown_name(kind: str, name: str, known: Iterable[str]) -> str:
    """"unknown <kind> '<name>'", with "did you mean" when a known name is close (workflow lint)."""
    guess = did_you_mean(name, known)
    return f"unknown {kind} '{name}'" + (f" — did you mean '{guess}'?" if guess else "")


class AgreeflowError(Exception):
    """Base of every error agreeflow shows to a user."""

    exit_code: ClassVar[int] = 1
    messages: ClassVar[dict[str, str]] = {"vi": "Lỗi: {detail}", "en": "Error: {detail}"}

    def __init__(self, **fields: Any) -> None:
        self.fields = fields
        for key, value in fields.items():
            setattr(self, key, value)
        super().__init__(self.render("en"))

    def render(self, lang: str = "vi") -> str:
        """The message in ``lang`` (vi or en), with its remedy."""
        template = self.messages.get(lang) or self.messages["en"]
        values = {k: _show(v, lang) for k, v in self.fields.items()}
        return template.format_map(_Blank(values))

    def to_json(self, lang: str = "vi") -> dict[str, Any]:
        """A machine-readable form for ``--json`` output."""
        return {"error": type(self).__name__, "exit_code": self.exit_code,
                "message": self.render(lang),
                "details": {k: v for k, v in self.fields.items() if _jsonable(v)}}


class _Blank(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return ""


def _show(value: Any, lang: str) -> str:
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value) if value else ("(không có)" if lang == "vi" else "(none)")
    if isinstance(value, dict) and lang in value:
        return str(value[lang])
    return str(value)


def _jsonable(v: Any) -> bool:
    return isinstance(v, (str, int, float, bool, list, dict, type(None)))


# ---------------------------------------------------------------- exit 2
class UserInputError(AgreeflowError):
    """Bad input: nothing was written."""

    exit_code = 2


class NotInitialisedError(UserInputError):
    messages = {
        "vi": "Cơ sở dữ liệu {db} chưa được khởi tạo. Hãy chạy: agreeflow init",
        "en": "The database {db} is not initialised. Run: agreeflow init",
    }


class UnknownCaseError(UserInputError):
    messages = {
        "vi": "Không tìm thấy hồ sơ '{case}'.{hint} Xem danh sách: agreeflow case list",
        "en": "No case '{case}'.{hint} See the list: agreeflow case list",
    }

    def __init__(self, case: str, known: Iterable[str] = ()) -> None:
        guess = did_you_mean(case, known)
        super().__init__(case=case, hint=f" Có phải '{guess}'?" if guess else "")
        self._guess = guess

    def render(self, lang: str = "vi") -> str:
        if lang == "en":
            self.fields["hint"] = f" Did you mean '{self._guess}'?" if getattr(self, "_guess", "") else ""
        else:
            self.fields["hint"] = f" Có phải '{self._guess}'?" if getattr(self, "_guess", "") else ""
        return super().render(lang)


class _Suggesting(UserInputError):
    """An unknown name with a 'did you mean' suggestion and the allowed names."""

    kind: ClassVar[dict[str, str]] = {"vi": "tên", "en": "name"}
    messages = {
        "vi": "Không có {kind} '{name}'.{hint} Các giá trị hợp lệ: {allowed}",
        "en": "Unknown {kind} '{name}'.{hint} Allowed: {allowed}",
    }

    def __init__(self, name: str, allowed: Iterable[str] = (), **extra: Any) -> None:
        allowed = sorted(set(allowed))
        super().__init__(name=name, allowed=allowed, guess=did_you_mean(name, allowed), **extra)

    def render(self, lang: str = "vi") -> str:
        guess = self.fields.get("guess")
        self.fields["kind"] = self.kind.get(lang, self.kind["en"])
        if guess:
            self.fields["hint"] = f" Có phải '{guess}'?" if lang == "vi" else f" Did you mean '{guess}'?"
        else:
            self.fields["hint"] = ""
        return super().render(lang)


class UnknownWorkflowError(_Suggesting):
    kind = {"vi": "quy trình", "en": "workflow"}


class UnknownTriggerError(_Suggesting):
    kind = {"vi": "thao tác", "en": "trigger"}
    messages = {
        "vi": "Quy trình của hồ sơ {case} không có thao tác '{name}'.{hint} Các thao tác: {allowed}",
        "en": "The workflow of case {case} has no trigger '{name}'.{hint} Triggers: {allowed}",
    }


class UnknownUnitError(_Suggesting):
    kind = {"vi": "đơn vị", "en": "unit"}
    messages = {
        "vi": "Không có đơn vị '{name}' đang hoạt động trong danh bạ.{hint} Xem: agreeflow directory show",
        "en": "No active unit '{name}' in the directory.{hint} See: agreeflow directory show",
    }


class InactiveUnitError(UserInputError):
    """A unit code that the directory knows but that is not active on the day in question.

    Never answered with "did you mean" another code: a retired district is not a
    misspelt ministry.  ``retired`` tells which side of its life the day falls on.
    """

    messages = {
        "vi": "Không có đơn vị '{name}' đang hoạt động ngày {on}: {unit_vi} ({name}) {status_vi}. {remedy_vi}",
        "en": "No active unit '{name}' on {on}: {unit_en} ({name}) {status_en}. {remedy_en}",
    }

    def __init__(self, name: str, unit_vi: str, unit_en: str, since: str, on: str, retired: bool) -> None:
        if retired:
            status_vi, status_en = f"thôi hoạt động từ {since}", f"is no longer active from {since}"
            remedy_vi = ("Ghi đơn vị kế thừa công việc của đơn vị này (xem: agreeflow directory show); việc còn mở "
                         f"của đơn vị chuyển sang đơn vị kế thừa bằng: agreeflow directory transfer {name} MỚI "
                         f"--from {since}")
            remedy_en = ("Name the unit that took over its work (see: agreeflow directory show); its open work "
                         f"moves to that unit with: agreeflow directory transfer {name} NEW --from {since}")
        else:
            status_vi, status_en = f"chỉ hoạt động từ {since}", f"is active only from {since}"
            remedy_vi, remedy_en = "Xem: agreeflow directory show", "See: agreeflow directory show"
        super().__init__(name=name, unit_vi=unit_vi, unit_en=unit_en, since=since, on=on, retired=retired,
                         status_vi=status_vi, status_en=status_en, remedy_vi=remedy_vi, remedy_en=remedy_en)


class UnknownPersonError(UserInputError):
    messages = {
        "vi": "Không có người dùng '{email}' trong danh bạ. Dùng --as EMAIL (hoặc AGREEFLOW_USER) với một địa chỉ trong: agreeflow directory show",
        "en": "No person '{email}' in the directory. Use --as EMAIL (or AGREEFLOW_USER) with an address from: agreeflow directory show",
    }


class FieldValueError(UserInputError):
    messages = {
        "vi": "Trường '{field}': {problem_vi}. {remedy_vi}",
        "en": "Field '{field}': {problem_en}. {remedy_en}",
    }


class MissingFieldsError(UserInputError):
    messages = {
        "vi": "Thao tác '{trigger}' cần các trường: {missing}. Thêm bằng --field TÊN=GIÁ_TRỊ (tệp đính kèm: --attach TỆP).",
        "en": "Trigger '{trigger}' needs the fields: {missing}. Add them with --field NAME=VALUE (documents: --attach FILE).",
    }


class DefinitionError(UserInputError):
    problems: list[str]  # set by AgreeflowError.__init__ from the fields
    messages = {
        "vi": "Tệp quy trình có {count} lỗi:\n{listing}",
        "en": "The workflow file has {count} problem(s):\n{listing}",
    }

    def __init__(self, problems: list[str]) -> None:
        super().__init__(count=len(problems), listing="\n".join(f"  - {p}" for p in problems),
                         problems=problems)


class DirectoryFileError(DefinitionError):
    messages = {
        "vi": "Tệp danh bạ có {count} lỗi (chưa ghi gì):\n{listing}",
        "en": "The directory file has {count} problem(s) (nothing written):\n{listing}",
    }


class PhraseError(UserInputError):
    """A phrase nothing reads, or one that reads but names what cannot be (``problem_vi``/``problem_en``).

    "Quý V", "năm 0", "trong vòng -5 ngày": the problem is said, then the accepted forms — never another date.
    """

    messages = {
        "vi": "Không hiểu thời hạn '{phrase}'{problem_vi}. Các dạng được chấp nhận:\n{forms}",
        "en": "Cannot read the time phrase '{phrase}'{problem_en}. Accepted forms:\n{forms}",
    }

    def render(self, lang: str = "vi") -> str:
        problem = {k: f": {self.fields[k]}" for k in ("problem_vi", "problem_en") if self.fields.get(k)}
        template = self.messages.get(lang) or self.messages["en"]
        return template.format_map(_Blank({k: _show(v, lang) for k, v in self.fields.items()} | problem))


class DateValueError(UserInputError):
    messages = {
        "vi": "Ngày '{value}' không hợp lệ: {problem_vi}. Viết ngày theo dạng YYYY-MM-DD, ví dụ 2025-01-20 "
              "(lịch có các năm {first}–{last}).",
        "en": "'{value}' is not a valid date: {problem_en}. Write dates as YYYY-MM-DD, e.g. 2025-01-20 "
              "(the calendar covers {first}–{last}).",
    }


class InputFileError(UserInputError):
    messages = {
        "vi": "Tệp '{path}': {problem}",
        "en": "File '{path}': {problem}",
    }


class PlanFileError(DefinitionError):
    messages = {
        "vi": "Tệp kế hoạch có {count} lỗi — chưa ghi gì; sửa các dòng sau rồi nhập lại:\n{listing}{hint}",
        "en": "The plan file has {count} problem(s) — nothing was written; fix these rows and import again:\n{listing}{hint}",
    }

    def __init__(self, problems: list[str], hint: str = "") -> None:
        super().__init__(problems)
        self.fields["hint"] = self.hint = f"\n{hint}" if hint else ""


class ReportMapError(DefinitionError):
    messages = {
        "vi": "Tệp ánh xạ báo cáo (report-map) có {count} lỗi:\n{listing}",
        "en": "The report map has {count} problem(s):\n{listing}",
    }


class SimulationOnlyError(UserInputError):
    messages = {
        "vi": "{what} chỉ dùng được trên cơ sở dữ liệu mô phỏng (tạo bằng: agreeflow init --simulation). "
              "Cơ sở dữ liệu {db} là cơ sở dữ liệu thật: thời gian lấy theo đồng hồ hệ thống. "
              "Để ghi một việc đã xảy ra trước đây, dùng --effective NGÀY --reason \"lý do\".",
        "en": "{what} works only on a simulation database (made with: agreeflow init --simulation). "
              "The database {db} is a real one: time comes from the system clock. "
              "To record something that happened earlier, use --effective DATE --reason \"why\".",
    }


class NotSignedInError(UserInputError):
    messages = {
        "vi": "Chưa đăng nhập. Đăng nhập bằng: agreeflow login EMAIL (hoặc đặt AGREEFLOW_TOKEN).",
        "en": "Not signed in. Sign in with: agreeflow login EMAIL (or set AGREEFLOW_TOKEN).",
    }


class DatabaseUrlError(UserInputError):
    messages = {
        "vi": "Không mở được cơ sở dữ liệu {db}: {problem_vi}. Kiểm tra --db / AGREEFLOW_DB "
              "(ví dụ sqlite:////duong/dan/agreeflow.db hoặc postgresql+psycopg://nguoidung@may/agreeflow).",
        "en": "Cannot open the database {db}: {problem_en}. Check --db / AGREEFLOW_DB "
              "(e.g. sqlite:////path/to/agreeflow.db or postgresql+psycopg://user@host/agreeflow).",
    }


class OutputPathError(UserInputError):
    messages = {
        "vi": "Không ghi được tệp '{path}': {problem_vi}. Chọn một đường dẫn tệp trong một thư mục có quyền ghi.",
        "en": "Cannot write the file '{path}': {problem_en}. Choose a file path in a folder you may write to.",
    }


class CataloguedError(UserInputError):
    """An input error whose text is one message of the gettext catalogue (``msgid``: the English text)."""

    msgid: ClassVar[str] = ""

    def render(self, lang: str = "vi") -> str:
        from agreeflow.engine.core.i18n import t  # at render time: the catalogue is read only for a message
        return t(self.msgid, lang, **{k: _show(v, lang) for k, v in self.fields.items()})


class AttachmentTooLargeError(CataloguedError):
    msgid = ("The file '{path}' is {size} ({bytes} bytes), over the limit of {limit} ({limit_bytes} bytes) "
             "for an attachment; nothing was stored. Send a smaller file (compress or split it), or ask the "
             "administrator to raise AGREEFLOW_MAX_ATTACHMENT_MB.")


class OffCalendarError(CataloguedError, ValueError):
    """The input leads to days the calendar does not have (a start in 1994, 10⁶ working days, year 9999).

    Also a ValueError, so the code that already turns "off the calendar" into a message of its own keeps
    doing so; anywhere else it reaches the user as exit 2 with this text — never a traceback.
    """

    msgid = ("The dates this needs ({years}) are outside the calendar's years {first}–{last}: agreeflow counts "
             "working days only there. Check the dates and numbers given (a start, a number of days, a year).")


class OptionValueError(UserInputError):
    messages = {
        "vi": "Tùy chọn {option}: '{value}' không hợp lệ. {remedy_vi}",
        "en": "Option {option}: '{value}' is not valid. {remedy_en}",
    }


class LetterError(UserInputError):
    """A letter that cannot be written: its text is a message of the catalogue, named when raised.

    ``message`` is the English msgid (marked with ``N_``), the other fields fill its placeholders.
    """

    def __init__(self, message: str, **values: Any) -> None:
        super().__init__(message=message, **values)

    def render(self, lang: str = "vi") -> str:
        values = {k: _show(v, lang) for k, v in self.fields.items() if k != "message"}
        return t(str(self.fields["message"]), lang, **values)


class UnknownLetterKindError(UserInputError):
    """A letter kind no template defines; says which kinds there are (with their names) and the closest."""

    def __init__(self, name: str, kinds: dict[str, str]) -> None:
        super().__init__(name=name, allowed=sorted(kinds), guess=did_you_mean(name, kinds), labels=kinds)

    def render(self, lang: str = "vi") -> str:
        guess = self.fields["guess"]
        hint = t(" Did you mean '{guess}'?", lang, guess=guess) if guess else ""
        listing = "\n".join(f"  {k} — {self.fields['labels'][k]}" for k in self.fields["allowed"])
        return t("There is no letter kind '{name}'.{hint} The kinds are:\n{listing}\n(The annual report: "
                 "agreeflow report annual --year YEAR --docx FILE.)", lang, name=self.fields["name"], hint=hint,
                 listing=listing)


# ---------------------------------------------------------------- exit 3
class RefusedError(AgreeflowError):
    """A rule refused the action; the refusal itself is logged on the case."""

    exit_code = 3


class RoleRefusedError(RefusedError):
    messages = {
        "vi": "{actor} không có quyền thực hiện '{trigger}' trên hồ sơ {case} (cần vai trò: {needed}; vai trò của bạn: {roles}).",
        "en": "{actor} may not do '{trigger}' on case {case} (needs role: {needed}; your roles: {roles}).",
    }


class ScopeRefusedError(RefusedError):
    messages = {
        "vi": "{actor} (đơn vị {unit}) không được '{trigger}' hồ sơ {case}: hồ sơ thuộc đơn vị {case_unit}; "
              "cán bộ chỉ thao tác trên hồ sơ của đơn vị mình (quy tắc phạm vi đơn vị). Người được làm: {who}.",
        "en": "{actor} (unit {unit}) may not do '{trigger}' on case {case}: the case belongs to {case_unit}; "
              "officers act only on their own unit's cases (the unit-scope rule). Who may: {who}.",
    }


class PositionRefusedError(RefusedError):
    messages = {
        "vi": "{actor} không giữ chức vụ có thẩm quyền '{trigger}' hồ sơ {case} (quy tắc chức vụ). "
              "Người có thẩm quyền: {who_vi}. Căn cứ: {citation}",
        "en": "{actor} does not hold a position that may do '{trigger}' on case {case} (the position rule). "
              "Who may: {who_en}. Basis: {citation}",
    }


class StateRefusedError(RefusedError):
    messages = {
        "vi": "Hồ sơ {case} đang ở bước '{state}': không thể '{trigger}'. Thao tác bạn có thể dùng lúc này: {allowed}",
        "en": "Case {case} is in state '{state}': '{trigger}' is not possible. Triggers you may use now: {allowed}",
    }


class GuardRefusedError(RefusedError):
    messages = {
        "vi": "Chưa thể '{trigger}' hồ sơ {case}: {reason_vi}",
        "en": "Cannot '{trigger}' case {case} yet: {reason_en}",
    }


class StaleCaseError(RefusedError):
    messages = {
        "vi": "Hồ sơ {case} đã thay đổi kể từ khi bạn xem (phiên bản {expected} → {actual}). Xem lại: agreeflow case show {case}",
        "en": "The case {case} changed since you read it (version {expected} → {actual}). Look again: agreeflow case show {case}",
    }


class ReadOnlyError(RefusedError):
    messages = {
        "vi": "{actor} có vai trò kiểm tra (auditor): chỉ được xem, không được thay đổi dữ liệu.",
        "en": "{actor} is an auditor: auditors read everything and change nothing.",
    }


class SignInRefusedError(RefusedError):
    messages = {
        "vi": "Đăng nhập không thành công cho {email}: sai mật khẩu, tài khoản chưa có mật khẩu hoặc đang tạm khóa{wait_vi}.",
        "en": "Sign-in failed for {email}: wrong password, no password set, or the account is locked for now{wait_en}.",
    }


class OnBehalfRefusedError(RefusedError):
    messages = {
        "vi": "{recorder} không được ghi thay cho {actor}: chỉ quản trị viên (admin) được thao tác thay người khác (--as).",
        "en": "{recorder} may not act on behalf of {actor}: only an admin may act for someone else (--as).",
    }


class TimeOrderRefusedError(RefusedError):
    messages = {
        "vi": "Thời điểm có hiệu lực {effective} của hồ sơ {case} không hợp lệ: {problem_vi}.",
        "en": "The effective time {effective} on case {case} is not allowed: {problem_en}.",
    }


# ---------------------------------------------------------------- exit 4
class TamperingError(AgreeflowError):
    exit_code = 4
    messages = {
        "vi": "Phát hiện nhật ký bị sửa đổi:\n{listing}",
        "en": "The log has been tampered with:\n{listing}",
    }
