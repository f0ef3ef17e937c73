"""The microcredit contract as a document (issue 12, P3, D8): `senim contract
check|sample`, and the PDF read back with poppler's tools.

tests/unit/test_contract.c covers the template's rules, escaping, the
formatting and the schedule; here the shipped template renders, the PDF's
text (extracted by pdftotext) holds every Kazakh letter the contract uses,
the borrower's name and the clause on false information in both languages,
every font is embedded (pdffonts), and two runs give the same bytes.
"""
import hashlib
import os
import re
import shutil
import subprocess
import tempfile

import pytest

from senim_harness import BIN, TMP

SOURCE = os.environ.get("SENIM_SOURCE_DIR",
                        os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
SHIPPED = os.path.join(SOURCE, "data", "contract", "contract.ru-kk.html")

KAZAKH = "әғқңөұүһіӘҒҚҢӨҰҮҺІ"
BORROWER = "Әлия Ғалымқызы Нұрланова"
D8_RU = "Заемщик сознательно предоставил ложные или неполные сведения"
D8_KK = "жалған немесе толық емес мәліметтерді әдейі бергені анықталса"

pytestmark = pytest.mark.skipif(not shutil.which("pdftotext") or not shutil.which("pdffonts"),
                                reason="poppler-utils (scripts/install-deps test) missing")


def run(*args):
    return subprocess.run([BIN, *args], capture_output=True, timeout=120)


def words(text):
    """Runs of white space (line breaks, U+00A0) as one space."""
    return re.sub(r"\s+", " ", text.replace("\u00a0", " "))


@pytest.fixture(scope="module")
def sample():
    out = tempfile.mkdtemp(dir=TMP)
    p = run("contract", "sample", "--out", out, SHIPPED)
    assert p.returncode == 0, p.stderr
    yield out, p.stdout.decode()
    shutil.rmtree(out)


def test_help_answers():
    p = run("contract", "--help")
    assert p.returncode == 0
    assert b"senim contract sample" in p.stdout


def test_the_shipped_template_is_good():
    p = run("contract", "check", SHIPPED)
    assert p.returncode == 0, p.stderr
    assert p.stdout.decode().endswith(": good\n")


def test_a_bad_template_is_refused_with_its_line():
    with open(SHIPPED, encoding="utf-8") as f:
        text = f.read()
    with tempfile.TemporaryDirectory(dir=TMP) as d:
        path = os.path.join(d, "bad.html")
        with open(path, "w", encoding="utf-8") as f:
            f.write(text.replace("{{fee}}", "{{fees}}", 1))
        p = run("contract", "check", path)
        assert p.returncode == 2
        line = text[:text.index("{{fee}}")].count("\n") + 1
        assert ("bad.html:%d: the unknown placeholder {{fees}}" % line).encode() in p.stderr
        # Without the D8 clause in Kazakh.
        with open(path, "w", encoding="utf-8") as f:
            f.write(text.replace('id="false-information-kk"', ""))
        p = run("contract", "check", path)
        assert p.returncode == 2
        assert b"false information (D8)" in p.stderr


def test_sample_writes_html_and_pdf_with_their_hashes(sample):
    out, stdout = sample
    for name in ("contract-sample.html", "contract-sample.pdf"):
        with open(os.path.join(out, name), "rb") as f:
            digest = hashlib.sha256(f.read()).hexdigest()
        assert "%s sha256 %s\n" % (name, digest) in stdout
    with open(os.path.join(out, "contract-sample.pdf"), "rb") as f:
        assert f.read(5) == b"%PDF-"


def test_the_pdf_text_has_every_kazakh_letter_the_name_and_the_d8_clause(sample):
    out, _ = sample
    with open(os.path.join(out, "contract-sample.html"), encoding="utf-8") as f:
        html = f.read()
    p = subprocess.run(["pdftotext", "-enc", "UTF-8",
                        os.path.join(out, "contract-sample.pdf"), "-"],
                       capture_output=True, timeout=60)
    assert p.returncode == 0, p.stderr
    text = p.stdout.decode("utf-8")
    used = {c for c in KAZAKH if c in html}
    # The contract uses each of the nine letters (ә ғ қ ң ө ұ ү һ і).
    assert set(KAZAKH[:9]) <= used
    assert used <= set(text), sorted(used - set(text))
    flat = words(text)
    assert BORROWER in flat
    assert D8_RU in flat
    assert D8_KK in flat
    assert "150 000,00 ₸" in flat
    assert "ГЭСВ" in flat and "СЖТМ" in flat


def test_every_font_is_embedded(sample):
    out, _ = sample
    p = subprocess.run(["pdffonts", os.path.join(out, "contract-sample.pdf")],
                       capture_output=True, timeout=60)
    assert p.returncode == 0, p.stderr
    lines = p.stdout.decode().splitlines()
    fonts = lines[2:]
    assert len(fonts) >= 1
    for line in fonts:
        # name type encoding emb sub uni object ID: the type has spaces.
        emb, sub, uni = line.split()[-5:-2]
        assert (emb, uni) == ("yes", "yes"), line
        assert "DejaVuSans" in line


def test_two_runs_give_the_same_bytes(sample):
    out, stdout = sample
    with tempfile.TemporaryDirectory(dir=TMP) as again:
        p = run("contract", "sample", "--out", again, SHIPPED)
        assert p.returncode == 0, p.stderr
        assert p.stdout.decode() == stdout
        for name in ("contract-sample.html", "contract-sample.pdf"):
            with open(os.path.join(out, name), "rb") as a, \
                    open(os.path.join(again, name), "rb") as b:
                assert a.read() == b.read()


def test_a_missing_font_is_an_environment_error():
    with tempfile.TemporaryDirectory(dir=TMP) as d:
        p = run("contract", "sample", "--out", d, "--font", "/nonexistent.ttf", SHIPPED)
        assert p.returncode == 3
        assert b"font" in p.stderr
        assert not os.path.exists(os.path.join(d, "contract-sample.pdf"))
