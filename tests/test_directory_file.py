"""The directory file through the CLI: a schema names every bad entry at once with its line (exit 2, nothing
written); positions, titles, phones and delegations load, and each change is in the diff on the system chain."""

from __future__ import annotations

from agreeflow.engine.core import directory
from tests.conftest import ADMIN, APPROVER, AUDITOR

SAMPLE_2024 = directory.SAMPLE
MERGED_2025 = directory.MERGED_SAMPLE

# Every input that used to end in a traceback (issue 13) plus the new vocabulary's mistakes, one entry each.
BAD = """\
province: Mẫu
units:
  - {code: SNGV, name_vi: "Sở Ngoại vụ"}
  - {code: UBND, name_vi: [1, 2]}
  - {code: HUGE, name_vi: "Đơn vị", kind: %s}
  - {code: OLD, name_vi: "Đơn vị cũ", active_from: "2024-02-30", parent: SNGVV}
people:
  - {email: noname@x.example, unit: SNGV}
  - {email: quantri@x.example, name: "Quản trị", unit: SNGV, roles: 5}
  - {email: units@x.example, name: "Nhiều đơn vị", units: 5, unit: SNGV}
  - {email: pos@x.example, name: "Chức vụ", unit: SNGV, roles: [oficer], positions: [{unit: SNGV, position: chairmen}]}
  - {email: where@x.example, name: "Ở đâu", unit: SNGV, positions: [{unit: UBNDD, position: chairman}], title: Mr}
delegations:
  - {principal: quantri@x.example, delegate: nobody@x.example, scope: [approve], from: 2024-01-01, document: "QĐ 1"}
  - {principal: pos@x.example, delegate: where@x.example, scope: "*", from: 2024-05-01, to: 2024-01-01, document: "QĐ 2"}
""" % ("k" * 5000)


def test_a_bad_directory_file_lists_every_problem_with_its_line_and_writes_nothing(af, tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(BAD, encoding="utf-8")
    before = af.snapshot()
    res = af("directory", "load", str(path), "--lang", "en", user=ADMIN)
    assert res.exit_code == 2 and "Traceback" not in res.output
    listing = [line.strip()[2:] for line in res.stderr.splitlines()[1:]]
    p = str(path)
    assert res.stderr.splitlines()[0] == "The directory file has 13 problem(s) (nothing written):"
    assert listing == [
        f"{p}:4: unit 'UBND': 'name_vi' must be the unit's name in Vietnamese (text) (got [1, 2])",
        f"{p}:5: unit 'HUGE': 'kind' is 5000 characters long, at most 32 allowed",
        f"{p}:6: unit 'OLD': 'active_from': '2024-02-30' is not a real date",
        f"{p}:6: unit 'OLD': parent 'SNGVV' is unknown — did you mean 'SNGV'?",
        f"{p}:8: person 'noname@x.example': 'name' is missing (the person's full name (text))",
        f"{p}:9: person 'quantri@x.example': 'roles' must be a list of roles, e.g. [officer] "
        "(roles: coordinator, officer, approver, auditor, admin) (got 5)",
        f"{p}:10: person 'units@x.example': unknown key 'units' — did you mean 'unit'? "
        "(allowed: email, lang, name, phone, positions, roles, title, unit)",
        f"{p}:11: person 'pos@x.example': 'oficer' is not a role — did you mean 'officer'? "
        "(roles: coordinator, officer, approver, auditor, admin)",
        f"{p}:11: person 'pos@x.example': 'chairmen' is not a position — did you mean 'chairman'? "
        "(positions: chairman, vice_chairman, director, deputy_director, head, deputy_head, officer)",
        f"{p}:12: person 'where@x.example': 'title' must be how the person is addressed: Ông or Bà (got 'Mr')",
        f"{p}:12: person 'where@x.example': position chairman in unit 'UBNDD' is unknown — did you mean 'UBND'?",
        f"{p}:14: delegation to 'nobody@x.example': delegate 'nobody@x.example' is not a person of this file",
        f"{p}:15: delegation to 'where@x.example': 'to' (2024-01-01) is before 'from' (2024-05-01)",
    ]
    assert "kkkkkkkkkk" not in res.stderr  # the 5000-character value is never echoed
    assert af.snapshot() == before


def test_the_same_problems_are_listed_by_check_without_a_database(af, tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(BAD, encoding="utf-8")
    res = af("directory", "check", str(path), "--lang", "en", user=None)
    assert res.exit_code == 2 and "The directory file has 13 problem(s) (nothing written):" in res.stderr


def test_a_date_that_does_not_exist_is_refused_with_its_line(af, tmp_path):
    path = tmp_path / "date.yaml"
    path.write_text("units:\n  - {code: A, name_vi: x}\n  - {code: B, name_vi: y, active_from: 2024-02-30}\n",
                    encoding="utf-8")
    res = af("directory", "load", str(path), "--lang", "en", user=ADMIN)
    assert res.exit_code == 2
    assert f"{path}:3: YAML syntax: '2024-02-30' is not a real date (day is out of range for month)" in res.stderr


def test_a_file_of_the_wrong_shape_says_so(af, tmp_path):
    cases = {
        "[1, 2]\n": "{p}:1: a directory file is a mapping with 'units:' (and 'people:', 'delegations:')",
        "units: 5\n": "{p}:1: 'units' must be a list of units (got 5)",
        "units: []\n": "{p}:1: 'units' needs at least 1 entry",
        "units:\n  - 5\npeople: {a: 1}\nextra: 1\n": "{p}:1: units[1]: an entry must be a mapping of key: value (got 5)",
    }
    for text, message in cases.items():
        path = tmp_path / "shape.yaml"
        path.write_text(text, encoding="utf-8")
        res = af("directory", "load", str(path), "--lang", "en", user=ADMIN)
        assert res.exit_code == 2 and message.format(p=path) in res.stderr, res.stderr
    assert f"{path}:3: 'people' must be a list of people (got {{'a': 1}})" in res.stderr
    assert f"{path}:4: unknown key 'extra' (allowed: as_of, delegations, people, province, units)" in res.stderr


def test_the_sample_gives_positions_titles_phones_and_the_chairmans_delegation(af):
    shown = af.json("directory", "show", user=AUDITOR)
    people = {p["email"]: p for p in shown["people"]}
    assert all(p["title"] in ("Ông", "Bà") and p["phone"] and p["positions"] for p in people.values())
    assert people[APPROVER]["positions"] == [{"unit": "UBND", "position": "chairman"}]
    assert people["giamdoc.sngv@bacgiang.example"]["positions"] == [{"unit": "SNGV", "position": "director"}]
    assert people["phogiamdoc.sngv@bacgiang.example"]["positions"] == [{"unit": "SNGV", "position": "deputy_director"}]
    vice = sorted(e for e, p in people.items() if {"unit": "UBND", "position": "vice_chairman"} in p["positions"])
    assert vice == ["phochutich1@bacgiang.example", "phochutich2@bacgiang.example"]
    assert people["chuyenvien.ca@bacgiang.example"]["positions"] == [{"unit": "CA", "position": "officer"}]
    [delegation] = shown["delegations"]
    assert delegation["principal"] == APPROVER and delegation["delegate"] == "phochutich1@bacgiang.example"
    assert delegation["scope"] == ["approve"] and (delegation["from"], delegation["to"]) == ("2024-01-02", "2024-12-31")
    assert delegation["document"].startswith("Quyết định số 05/QĐ-UBND ngày 02/01/2024")


def test_a_reload_logs_positions_titles_phones_and_delegations_changed_field_by_field(af, tmp_path):
    text = SAMPLE_2024.read_text(encoding="utf-8")
    changed = (text.replace('"Ngô Đức Anh", title: Ông, phone: "0204 000 0410", positions: [{unit: CA, position: officer}]',
                            '"Ngô Đức Anh", title: Ông, phone: "0204 000 0499", positions: [{unit: CA, position: head}]')
               .replace("scope: [approve], from: 2024-01-02, to: 2024-12-31",
                        "scope: \"*\", from: 2024-01-02, to: 2024-06-30"))
    assert changed.count("0204 000 0499") == 1 and 'scope: "*"' in changed
    path = tmp_path / "directory.yaml"
    path.write_text(changed, encoding="utf-8")
    res = af.json("directory", "load", str(path), user=ADMIN, now="2024-05-01T09:00")
    assert res["delegations"] == 1
    event = af.json("case", "history", "HE-THONG", user=AUDITOR)[-1]
    assert event["kind"] == "directory_loaded" and event["actor"] == ADMIN
    diff = event["payload"]["diff"]
    assert diff["people"]["changed"] == {"chuyenvien.ca@bacgiang.example": {
        "phone": ["0204 000 0410", "0204 000 0499"],
        "positions": [[{"unit": "CA", "position": "officer"}], [{"unit": "CA", "position": "head"}]]}}
    old = {"principal": APPROVER, "delegate": "phochutich1@bacgiang.example", "from": "2024-01-02",
           "document": "Quyết định số 05/QĐ-UBND ngày 02/01/2024 của Chủ tịch UBND tỉnh ủy quyền Phó Chủ tịch "
                       "Thường trực quyết định ký kết thỏa thuận quốc tế (số hiệu mẫu)"}
    assert diff["delegations"] == {"added": [old | {"scope": ["*"], "to": "2024-06-30"}],
                                   "removed": [old | {"scope": ["approve"], "to": "2024-12-31"}]}
    assert af.json("directory", "load", str(path), user=ADMIN)["delegations"] == 1
    again = af.json("case", "history", "HE-THONG", user=AUDITOR)[-1]["payload"]["diff"]
    assert again["delegations"] == {"added": [], "removed": []} and again["people"]["changed"] == {}


def test_the_merged_province_sample_checks_clean_and_loads(af):
    res = af("directory", "check", str(MERGED_2025), "--lang", "en", user=None, ok=True)
    assert res.stdout.strip() == (f"{MERGED_2025}: valid — 41 units, 23 people, 1 delegation(s) of authority.")
    loaded = af.json("directory", "load", str(MERGED_2025), user=ADMIN, now="2025-07-01T09:00")
    assert loaded == {"units": 41, "people": 23, "units_retired": 0, "people_deactivated": 30, "delegations": 1}
    shown = af.json("directory", "show", user="thanhtra@bacninh.example", now="2025-07-01T09:00")
    units = {u["code"]: u for u in shown["units"]}
    assert units["UBND"]["name_vi"] == "Ủy ban nhân dân tỉnh Bắc Ninh" and units["UBND"]["active"]
    assert [c for c, u in units.items() if u["kind"] == "district" and u["active"]] == []
    assert {c: units[c]["active_to"] for c in ("LNG", "TPBG", "SKHDT", "STTTT", "BDBP")} == {
        "LNG": "2025-06-30", "TPBG": "2025-06-30", "SKHDT": "2025-02-28", "STTTT": "2025-02-28", "BDBP": "2025-06-30"}
    assert all(units[c]["active"] for c in ("STC", "SKHCN", "SNGV", "BNG", "P-KINHBAC", "X-LUCNGAN"))
    chair = [p for p in shown["people"] if {"unit": "UBND", "position": "chairman"} in p["positions"] and p["active"]]
    assert [p["email"] for p in chair] == ["chutich@bacninh.example"]
    res = af("directory", "load", str(MERGED_2025), "--lang", "en", user=ADMIN)
    assert res.exit_code == 2 and f"No person '{ADMIN}' in the directory" in res.stderr  # the 2024 admin is gone
    check = af.json("directory", "check", str(SAMPLE_2024), user=None)
    assert check["warnings"] == [] and check["province"] == "Bắc Giang"


def test_check_warns_about_units_the_workflows_need(af, tmp_path):
    path = tmp_path / "small.yaml"
    path.write_text("units:\n  - {code: UBND, name_vi: x}\n", encoding="utf-8")
    res = af("directory", "check", str(path), "--lang", "en", user=None, ok=True)
    assert "  ! unit 'SNGV' is named by " in res.stdout and "reminder-policies.yaml (coordinator_unit)" in res.stdout


def test_only_an_admin_loads_a_directory_and_a_refusal_is_logged(af):
    res = af("directory", "load", str(MERGED_2025), "--lang", "en", user=AUDITOR)
    assert res.exit_code == 3
    last = af.json("case", "history", "HE-THONG", user=AUDITOR)[-1]
    assert last["kind"] == "refused" and last["actor"] == AUDITOR



def test_a_person_added_by_a_reload_is_logged_with_unit_roles_and_positions(af, tmp_path):
    """Issue 13 point 1: the diff names what a newcomer may do — an admin added by a file shows as an admin."""
    text = SAMPLE_2024.read_text(encoding="utf-8")
    anchor = "  - {email: thanhtra@bacgiang.example,"
    assert text.count(anchor) == 1
    added = text.replace(anchor, "  - {email: moi@bacgiang.example, name: \"Người Mới\", positions: [{unit: TTRA, "
                                 "position: officer}], unit: TTRA, roles: [admin]}\n" + anchor)
    path = tmp_path / "directory.yaml"
    path.write_text(added, encoding="utf-8")
    af("directory", "load", str(path), user=ADMIN, now="2024-05-01T09:00", ok=True)
    people = af.json("case", "history", "HE-THONG", user=AUDITOR)[-1]["payload"]["diff"]["people"]
    assert people["added"] == ["moi@bacgiang.example"]
    assert people["new"] == {"moi@bacgiang.example": {"unit": "TTRA", "roles": ["admin"],
                                                      "positions": [{"unit": "TTRA", "position": "officer"}]}}

def test_a_misspelt_address_in_a_delegation_is_suggested_but_a_stranger_is_not(af, tmp_path):
    text = SAMPLE_2024.read_text(encoding="utf-8").replace("principal: chutich@bacgiang.example",
                                                           "principal: chutch@bacgiang.example")
    path = tmp_path / "typo.yaml"
    path.write_text(text.replace("delegations:\n", "delegations:\n  - {principal: chutich@bacgiang.example, delegate: "
                                                   "ai@bacgiang.example, scope: [sign], from: 2024-01-02, "
                                                   "document: \"QĐ 7\"}\n"), encoding="utf-8")
    res = af("directory", "check", str(path), "--lang", "en", user=None)
    assert res.exit_code == 2 and "The directory file has 2 problem(s)" in res.stderr
    assert ("delegation to 'ai@bacgiang.example': delegate 'ai@bacgiang.example' is not a person of this file\n"
            in res.stderr)
    assert ("delegation to 'phochutich1@bacgiang.example': principal 'chutch@bacgiang.example' is not a person of "
            "this file — did you mean 'chutich@bacgiang.example'?") in res.stderr
