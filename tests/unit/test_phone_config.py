"""pjsip_phones.conf as the service writes it (callcenter/pbx/phone_config.py): two lines per
person, each its own endpoint, auth and AOR, the secret only as its digest HA1."""

from __future__ import annotations

import hashlib
import stat
from pathlib import Path

import pytest

from callcenter.pbx.phone_config import PhoneLine, ha1, render_phones, web_endpoint, write_phones


def test_each_person_has_a_desk_line_and_a_browser_line_with_their_own_secret() -> None:
    text = render_phones([PhoneLine("1002", "s3cret-b"), PhoneLine("1001", "s3cret-a")], "cc")
    sections = [line for line in text.splitlines() if line.startswith("[")]
    assert sections == [
        "[1001](phone)",
        "[1001-auth](phone-auth)",
        "[1001](phone-aor)",
        "[1001-web](webrtc-phone)",
        "[1001-web-auth](phone-auth)",
        "[1001-web](phone-aor)",
        "[1002](phone)",
        "[1002-auth](phone-auth)",
        "[1002](phone-aor)",
        "[1002-web](webrtc-phone)",
        "[1002-web-auth](phone-auth)",
        "[1002-web](phone-aor)",
    ]
    web_ha1 = hashlib.md5(b"1001-web:cc:s3cret-a", usedforsecurity=False).hexdigest()
    assert f"username = 1001-web\npassword_digest = md5:{web_ha1}\n" in text
    assert f"password_digest = md5:{ha1('1001', 'cc', 's3cret-a')}\n" in text
    assert "s3cret" not in text  # never the secret itself
    assert (
        '[1001-web](webrtc-phone)\nauth = 1001-web-auth\naors = 1001-web\ncallerid = "1001" <1001>'
        in text
    )
    assert web_endpoint("1001") == "1001-web"


@pytest.mark.parametrize("bad", ["1001]\n[evil", "10 01", "", "a1001"])
def test_anything_but_an_extension_is_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="not an extension"):
        render_phones([PhoneLine(bad, "x")], "cc")


def test_the_file_is_replaced_whole_and_readable_by_the_group_only(tmp_path: Path) -> None:
    path = tmp_path / "etc" / "pjsip_phones.conf"
    write_phones(path, "first\n")
    write_phones(path, "second\n")
    assert path.read_text() == "second\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert [p.name for p in path.parent.iterdir()] == ["pjsip_phones.conf"]  # no drafts left
