"""`autocull export`: keepers (or any verdict) gathered by hard link or copy with their sidecars; originals only
read, a dry run changes nothing, a target already there is never overwritten.

A shoot of real photos (two folders with the same file name, a unicode name, a sidecar, a real burst made from the
shared series with EXIF times, a broken file), the real CLI with the engine in-process, and once the real daemon.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from autocull.cli import main

from daemon import Daemon
from realphotos import TESTDATA
from test_bursts import BURST_PLAN, T0, exif_block, frame, series, write

XMP = (
    '<?xml version="1.0"?><x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
    'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description rdf:about="" '
    'xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmp:Rating="3"/></rdf:RDF></x:xmpmeta>'
)


def _shoot(root: Path) -> Path:
    shoot = root / "shoot"
    for rel, dest in (
        ("burst/scenario-1/scenario-1-a.jpg", "day1/IMG_0001.jpg"),
        ("burst/scenario-2/scenario-2-a.jpg", "day2/IMG_0001.jpg"),
        ("faces/closed/closed_eye_0002.jpg_face_2.jpg", "day2/Zoë, à la plage.jpg"),
    ):
        (shoot / dest).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(TESTDATA / rel, shoot / dest)
    (shoot / "day1" / "IMG_0001.jpg.xmp").write_text(XMP)
    (shoot / "day1" / "broken.jpg").write_bytes(b"not a photo")
    burst = shoot / "burst"
    burst.mkdir()
    base = series("scenario-3-c")
    for k, (dx, blur, stops) in enumerate(BURST_PLAN):
        taken = T0 + timedelta(milliseconds=120 * k)
        write(burst / f"IMG_{412 + k:04d}.jpg", frame(base, dx=dx, blur=blur, stops=stops), exif_block(taken))
    return shoot


def _tree(root: Path) -> dict[str, tuple[Any, ...]]:
    """Everything a user could notice of a tree: names, kinds, sizes, mtimes, inodes, link counts, bytes."""
    out: dict[str, tuple[Any, ...]] = {}
    for dirpath, dirs, files in os.walk(root):
        for n in dirs + files:
            p = os.path.join(dirpath, n)
            st = os.lstat(p)
            digest = hashlib.sha256(Path(p).read_bytes()).hexdigest() if n in files else ""
            out[os.path.relpath(p, root)] = (st.st_mode, st.st_size, st.st_mtime_ns, st.st_ino, st.st_nlink, digest)
    return out


def _export(home: Path, *args: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(["--home", str(home), "export", *args])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def shoot(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict[str, dict[str, Any]]]:
    """The shoot, its home (culled once: every export after reads no image) and the cull's decisions by path."""
    root = tmp_path_factory.mktemp("export")
    folder = _shoot(root)
    home = root / "home"
    cli = subprocess.run(
        [sys.executable, "-m", "autocull", "cull", "--json", str(folder)],
        env=dict(os.environ, AUTOCULL_HOME=str(home)),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert cli.returncode == 0, cli.stderr
    decisions = {d["path"]: d for d in json.loads(cli.stdout)["decisions"]}
    return folder, home, decisions


def _of(decisions: dict[str, dict[str, Any]], verdict: str, best_of_burst: bool = False) -> set[str]:
    return {
        p
        for p, d in decisions.items()
        if d["verdict"] == f"VERDICT_{verdict.upper()}" and not (best_of_burst and d["burstId"] and not d["burstBest"])
    }


def _verdict_with_a_burst(decisions: dict[str, dict[str, Any]]) -> str:
    """A verdict some burst frame that is not its burst's best has (the real burst must have been grouped)."""
    for d in decisions.values():
        if d["burstId"] and not d["burstBest"]:
            return str(d["verdict"]).removeprefix("VERDICT_").lower()
    raise AssertionError("the burst of the shoot was not grouped: " + json.dumps(list(decisions.values()))[:2000])


def _rel(folder: Path, path: str) -> str:
    return os.path.relpath(path, folder)


def test_links_keep_the_layout_and_never_touch_originals(shoot, tmp_path, capsys) -> None:
    folder, home, decisions = shoot
    verdict = decisions[str(folder / "day1" / "IMG_0001.jpg")]["verdict"].removeprefix("VERDICT_").lower()
    before = _tree(folder)
    out = tmp_path / "picked"
    code, text, err = _export(home, str(folder), "--verdict", verdict, "--to", str(out), capsys=capsys)
    assert code == 0, err
    chosen = _of(decisions, verdict)
    exported = {k for k in _tree(out) if not k.endswith(".xmp") and (out / k).is_file()}
    assert exported == {_rel(folder, p) for p in chosen}
    assert "day1/IMG_0001.jpg" in exported  # day1's and day2's IMG_0001.jpg do not collide
    after = _tree(folder)
    assert after.keys() == before.keys()
    for rel, (mode, size, mtime, ino, nlink, digest) in before.items():
        grown = 1 if rel in exported else 0  # one more name for each linked photo, nothing else changed
        assert after[rel] == (mode, size, mtime, ino, nlink + grown, digest), rel
    for rel in exported:
        assert os.stat(out / rel).st_ino == os.stat(folder / rel).st_ino, rel
    # the sidecar is a copy (its own inode) carrying the verdict; the original's bytes are as they were
    side = out / "day1" / "IMG_0001.jpg.xmp"
    assert os.stat(side).st_ino != os.stat(folder / "day1" / "IMG_0001.jpg.xmp").st_ino
    assert (folder / "day1" / "IMG_0001.jpg.xmp").read_text() == XMP
    assert "autocull:Verdict" in side.read_text() and 'xmp:Rating="3"' in side.read_text()  # hand rating kept
    assert not any("broken" in k for k in _tree(out))  # a failed file is never exported
    assert f"{len(chosen)} linked" in text

    # again: everything is already there, nothing changes
    snapshot = _tree(out)
    code, text, err = _export(home, str(folder), "--verdict", verdict, "--to", str(out), capsys=capsys)
    assert code == 0, err
    assert f"{len(chosen)} skipped (already there)" in text and "0 linked" in text
    assert {k: v for k, v in _tree(out).items() if not k.endswith(".xmp")} == {
        k: v for k, v in snapshot.items() if not k.endswith(".xmp")
    }


def test_copy_gives_own_files_with_the_same_bytes_and_mtime(shoot, tmp_path, capsys) -> None:
    folder, home, decisions = shoot
    verdict = _verdict_with_a_burst(decisions)
    before = _tree(folder)
    out = tmp_path / "copies"
    code, text, err = _export(home, str(folder), "--verdict", verdict, "--to", str(out), "--copy", capsys=capsys)
    assert code == 0, err
    assert _tree(folder) == before  # a copy adds no link to an original
    chosen = _of(decisions, verdict)
    assert chosen
    for p in chosen:
        src, dst = os.stat(p), os.stat(out / _rel(folder, p))
        assert src.st_ino != dst.st_ino and src.st_mtime_ns == dst.st_mtime_ns
        assert Path(p).read_bytes() == (out / _rel(folder, p)).read_bytes()
    assert not [n for n in os.listdir(out / "burst") if n.startswith(".")]  # no temp file left behind


def test_best_of_burst_takes_one_frame_of_the_real_burst(shoot, tmp_path, capsys) -> None:
    folder, home, decisions = shoot
    verdict = _verdict_with_a_burst(decisions)
    out = tmp_path / "best"
    code, _, err = _export(home, str(folder), "--verdict", verdict, "--best-of-burst", "--to", str(out), capsys=capsys)
    assert code == 0, err
    got = {k for k in _tree(out) if (out / k).is_file() and not k.endswith(".xmp")}
    want = {_rel(folder, p) for p in _of(decisions, verdict, best_of_burst=True)}
    assert got == want
    assert want < {_rel(folder, p) for p in _of(decisions, verdict)}  # the burst's other frames stay out


def test_a_dry_run_changes_nothing(shoot, tmp_path, capsys) -> None:
    folder, home, decisions = shoot
    verdict = _verdict_with_a_burst(decisions)
    out = tmp_path / "dry" / "picked"
    watched = _tree(folder), _tree(tmp_path)
    code, text, err = _export(home, str(folder), "--verdict", verdict, "--to", str(out), "--dry-run", capsys=capsys)
    assert code == 0, err
    assert (_tree(folder), _tree(tmp_path)) == watched and not out.exists()
    for p in _of(decisions, verdict):
        assert f"link {p} -> {out / _rel(folder, p)}" in text


def test_a_different_file_at_the_target_is_not_overwritten(shoot, tmp_path, capsys) -> None:
    folder, home, decisions = shoot
    verdict = _verdict_with_a_burst(decisions)
    chosen = sorted(_of(decisions, verdict))
    out = tmp_path / "taken"
    blocked = out / _rel(folder, chosen[0])
    blocked.parent.mkdir(parents=True)
    blocked.write_bytes(b"someone else's photo")
    code, text, err = _export(home, str(folder), "--verdict", verdict, "--to", str(out), capsys=capsys)
    assert code == 1
    assert f"failed {chosen[0]}: {blocked} already exists and is a different file" in err
    assert blocked.read_bytes() == b"someone else's photo"
    for p in chosen[1:]:
        assert os.stat(out / _rel(folder, p)).st_ino == os.stat(p).st_ino
    assert f"{len(chosen) - 1} linked" in text and "1 failed" in text


def test_two_files_named_alike_from_different_arguments_collide_clearly(shoot, tmp_path, capsys) -> None:
    folder, home, decisions = shoot
    # another card's photo (a real one unlike any in the shoot) named as a shoot photo of its verdict
    probe = tmp_path / "probe" / "x.jpg"
    probe.parent.mkdir()
    shutil.copyfile(TESTDATA / "faces" / "open" / sorted(os.listdir(TESTDATA / "faces" / "open"))[0], probe)
    assert main(["--home", str(home), "cull", "--json", str(probe)]) == 0
    verdict = json.loads(capsys.readouterr().out)["decisions"][0]["verdict"]
    same = sorted(p for p, d in decisions.items() if d["verdict"] == verdict)
    assert same, f"no photo of the shoot is {verdict}"
    a = Path(same[0])
    b = tmp_path / "card" / a.name
    b.parent.mkdir()
    shutil.copyfile(probe, b)
    verdict = verdict.removeprefix("VERDICT_").lower()
    out = tmp_path / "flat"
    code, _, err = _export(home, str(a), str(b), "--verdict", verdict, "--to", str(out), capsys=capsys)
    assert code == 1
    assert f"{out / a.name} is also where {a} goes" in err
    assert os.stat(out / a.name).st_ino == os.stat(a).st_ino


def test_bad_targets_are_refused_before_anything_is_done(shoot, tmp_path, capsys) -> None:
    folder, home, _ = shoot
    before = _tree(folder)
    code, _, err = _export(home, str(folder), "--verdict", "keep", "--to", str(folder / "keepers"), capsys=capsys)
    assert code == 2 and "is inside" in err and "pick the exported copies up" in err
    a_file = tmp_path / "notes.txt"
    a_file.write_text("x")
    code, _, err = _export(home, str(folder), "--verdict", "keep", "--to", str(a_file), capsys=capsys)
    assert code == 2 and "is a file, not a folder" in err
    code, _, err = _export(home, str(folder), "--verdict", "keep", "--to", str(a_file / "sub"), capsys=capsys)
    assert code == 2 and "cannot write into --to" in err
    assert _tree(folder) == before


def _other_file_system(near: Path) -> Path:
    for candidate in ("/dev/shm", "/run", "/var/tmp"):
        if os.path.isdir(candidate) and os.access(candidate, os.W_OK):
            if os.stat(candidate).st_dev != os.stat(near).st_dev:
                return Path(candidate)
    raise AssertionError("no writable folder on another file system than the test's (/dev/shm, /run, /var/tmp)")


def test_across_file_systems_auto_copies_and_link_fails_each_photo(shoot, tmp_path, capsys) -> None:
    folder, home, decisions = shoot
    verdict = _verdict_with_a_burst(decisions)
    chosen = _of(decisions, verdict)
    other = Path(_mkdtemp(_other_file_system(tmp_path)))
    try:
        code, text, err = _export(home, str(folder), "--verdict", verdict, "--to", str(other / "a"), capsys=capsys)
        assert code == 0, err
        assert f"{len(chosen)} copied ({len(chosen)} because a hard link is impossible here" in text
        code, text, err = _export(
            home, str(folder), "--verdict", verdict, "--to", str(other / "b"), "--link", capsys=capsys
        )
        assert code == 1 and f"{len(chosen)} failed" in text
        assert err.count("cannot hard-link it to") == len(chosen)
        assert not (other / "b").exists()  # no empty folders left behind, --to included (this run made it)
        (other / "c").mkdir()  # a --to that was there stays, and stays empty
        code, text, err = _export(
            home, str(folder), "--verdict", verdict, "--to", str(other / "c"), "--link", capsys=capsys
        )
        assert code == 1 and f"{len(chosen)} failed" in text
        assert os.listdir(other / "c") == []
    finally:
        shutil.rmtree(other)


def _mkdtemp(where: Path) -> str:
    import tempfile

    return tempfile.mkdtemp(prefix="autocull-export-test-", dir=where)


def test_through_the_daemon_a_culled_shoot_is_exported_without_reading_an_image(shoot, tmp_path) -> None:
    folder, _, _ = shoot
    home = tmp_path / "home"
    first = subprocess.run(
        [sys.executable, "-m", "autocull", "cull", "--csv", str(folder)],
        env=dict(os.environ, AUTOCULL_HOME=str(home)),
        capture_output=True,
        timeout=600,
    )
    assert first.returncode == 0, first.stderr
    daemon = Daemon(home)
    try:
        from autocull.v1 import autocull_pb2 as pb

        decodes = daemon.grpc("GetStatus", pb.GetStatusRequest()).decodes
        out = tmp_path / "via-daemon"
        cli = subprocess.run(
            [sys.executable, "-m", "autocull", "export", str(folder), "--verdict", "review", "--to", str(out)],
            env=dict(os.environ, AUTOCULL_HOME=str(home)),
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert cli.returncode == 0, cli.stderr
        assert "no daemon running" not in cli.stderr
        # answered from the store: only the broken file is tried again (as every failed file is, on each cull)
        assert daemon.grpc("GetStatus", pb.GetStatusRequest()).decodes == decodes + 1
        rows = csv.DictReader(io.StringIO(first.stdout.decode("utf-8-sig"), newline=""))
        reviewed = [r["path"] for r in rows if r["verdict"] == "review"]
        assert reviewed
        for p in reviewed:
            assert os.stat(out / _rel(folder, p)).st_ino == os.stat(p).st_ino
    finally:
        daemon.stop()


def _content(root: Path) -> dict[str, tuple[Any, ...]]:
    """What an export must never change in the originals: names, kinds, sizes, mtimes and bytes (a hard link
    adds a name elsewhere, so the link count is left out)."""
    return {k: (mode, size, mtime, digest) for k, (mode, size, mtime, _, _, digest) in _tree(root).items()}


def _verdict_of(decisions: dict[str, dict[str, Any]], path: Path) -> str:
    return str(decisions[str(path)]["verdict"]).removeprefix("VERDICT_").lower()


def test_a_folder_link_in_to_never_leads_the_export_into_the_originals(shoot, tmp_path, capsys) -> None:
    folder, home, decisions = shoot
    photo = folder / "day2" / "IMG_0001.jpg"
    verdict = _verdict_of(decisions, photo)
    before = _content(folder)
    out = tmp_path / "exp3"
    out.mkdir()
    (out / "day2").symlink_to(folder / "day2")
    code, text, err = _export(home, str(folder), "--verdict", verdict, "--to", str(out), capsys=capsys)
    assert code == 1
    real = os.path.realpath(folder / "day2")
    assert f"failed {photo}: {out / 'day2'} (through a symbolic link: {real}) is outside --to" in err
    assert "\nskip " not in "\n" + text
    assert _content(folder) == before  # no sidecar merged, none made, in the originals' folder
    for p in _of(decisions, verdict) - {str(p) for p in (folder / "day2").iterdir()}:
        assert os.stat(out / _rel(folder, p)).st_ino == os.stat(p).st_ino  # the others went as usual
    # a link to another folder of the shoot is refused the same way
    (out / "day2").unlink()
    (out / "day2").symlink_to(folder / "day1")
    code, _, err = _export(home, str(folder), "--verdict", verdict, "--to", str(out), capsys=capsys)
    assert code == 1 and f"failed {photo}: {out / 'day2'} (through a symbolic link:" in err
    assert _content(folder) == before


def test_a_symlinked_sidecar_in_to_is_never_written_through(shoot, tmp_path, capsys) -> None:
    folder, home, decisions = shoot
    before = _content(folder)
    # day1's photo has a sidecar (the link leads to it); day2's has none (the link dangles into the originals)
    for photo in (folder / "day1" / "IMG_0001.jpg", folder / "day2" / "IMG_0001.jpg"):
        out = tmp_path / photo.parent.name
        (out / photo.parent.name).mkdir(parents=True)
        link = out / photo.parent.name / (photo.name + ".xmp")
        link.symlink_to(photo.parent / (photo.name + ".xmp"))
        code, _, err = _export(
            home, str(folder), "--verdict", _verdict_of(decisions, photo), "--to", str(out), capsys=capsys
        )
        assert code == 1
        assert f"failed {photo}: {link} is a symbolic link" in err
        assert not (out / _rel(folder, str(photo))).exists()  # the photo failed as a whole
        assert os.readlink(link) == str(photo.parent / (photo.name + ".xmp"))
    assert _content(folder) == before


def test_a_link_in_to_back_into_a_source_inside_it_is_refused(shoot, tmp_path, capsys) -> None:
    _, home, _ = shoot
    out = tmp_path / "out"
    card = out / "card"
    photo = card / "sub" / "x.jpg"
    photo.parent.mkdir(parents=True)
    shutil.copyfile(TESTDATA / "faces" / "open" / sorted(os.listdir(TESTDATA / "faces" / "open"))[1], photo)
    assert main(["--home", str(home), "cull", "--json", str(card)]) == 0
    verdict = json.loads(capsys.readouterr().out)["decisions"][0]["verdict"].removeprefix("VERDICT_").lower()
    (out / "sub").symlink_to(card / "sub")  # out/sub/x.jpg would be the original itself
    before = _content(card)
    code, text, err = _export(home, str(card), "--verdict", verdict, "--to", str(out), capsys=capsys)
    assert code == 1
    assert f"failed {photo}: {out / 'sub'} (through a symbolic link: {os.path.realpath(card / 'sub')}) is inside" in err
    assert "\nskip " not in "\n" + text
    assert _content(card) == before  # no x.jpg.xmp made beside the original


def test_a_sidecar_already_in_to_is_merged_only_when_autocull_wrote_it(shoot, tmp_path, capsys) -> None:
    folder, home, decisions = shoot
    photo = folder / "day2" / "IMG_0001.jpg"
    verdict = _verdict_of(decisions, photo)
    backup = tmp_path / "backup"
    shutil.copytree(folder, backup, symlinks=True)  # cp -a: the same bytes and mtimes
    hand = backup / "day2" / "IMG_0001.jpg.xmp"
    hand.write_text(XMP)  # the backup's own sidecar, made by hand in another program
    names = set(_content(backup))
    before = {k: v for k, v in _content(backup).items() if k.endswith(".xmp")}
    assert "day1/IMG_0001.jpg.xmp" in before and "day2/IMG_0001.jpg.xmp" in before
    code, text, err = _export(home, str(folder), "--verdict", verdict, "--to", str(backup), capsys=capsys)
    assert code == 0, err
    assert f"keep {hand} (not one AutoCull wrote" in text
    after = _content(backup)
    for rel, seen in before.items():
        assert after[rel] == seen, rel  # byte-identical, mtime too: the backup's sidecars are not ours
    for rel in after.keys() - names:  # the sidecars this export made carry the verdict
        assert rel.endswith(".xmp") and f'autocull:Verdict="{verdict}"' in (backup / rel).read_text(), rel

    # a sidecar a previous export wrote (AutoCull's namespace in it) gets today's verdict merged in again
    hand.write_text(
        XMP.replace("xmp:Rating", 'xmlns:autocull="http://autocull.app/ns/1.0/" autocull:Verdict="old" xmp:Rating')
    )
    code, text, err = _export(home, str(folder), "--verdict", verdict, "--to", str(backup), capsys=capsys)
    assert code == 0, err
    assert f'autocull:Verdict="{verdict}"' in hand.read_text() and 'xmp:Rating="3"' in hand.read_text()


def test_ctrl_c_mid_export_stops_cleanly_with_the_summary_so_far(tmp_path) -> None:
    import signal
    import time

    from PIL import Image

    # a large real photo (a camera JPEG at 4x, ~30 MB) under many names: culled cheaply (libjpeg's draft scale),
    # copied slowly enough that the export is still going when the first copy is in place
    shoot = tmp_path / "big"
    shoot.mkdir()
    with Image.open(TESTDATA / "camera" / "sharp" / "rbh-055.jpg") as im:
        exif = im.info.get("exif", b"")
        im.resize((im.width * 4, im.height * 4), Image.Resampling.LANCZOS).save(
            shoot / "DSC_0001.jpg", quality=100, subsampling=0, exif=exif
        )
    for k in range(2, 25):
        os.link(shoot / "DSC_0001.jpg", shoot / f"DSC_{k:04d}.jpg")
    env = dict(os.environ, AUTOCULL_HOME=str(tmp_path / "home"))
    cull = subprocess.run(
        [sys.executable, "-m", "autocull", "cull", "--json", str(shoot)], env=env, capture_output=True, timeout=600
    )
    assert cull.returncode == 0, cull.stderr
    verdicts = [d["verdict"] for d in json.loads(cull.stdout)["decisions"]]
    verdict = max(set(verdicts), key=verdicts.count)
    many = verdicts.count(verdict)
    assert many > 10, verdicts
    out = tmp_path / "out"
    cli = subprocess.Popen(
        [sys.executable, "-m", "autocull", "export", str(shoot), "--copy", "--to", str(out), "--verdict"]
        + [verdict.removeprefix("VERDICT_").lower()],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 300
        while not (out.is_dir() and any(not n.startswith(".") for n in os.listdir(out))):
            assert cli.poll() is None and time.monotonic() < deadline, "the export ended before a copy was placed"
            time.sleep(0.002)
        cli.send_signal(signal.SIGSTOP)  # frozen right after the first copy, then Ctrl-C, mid-export
        cli.send_signal(signal.SIGINT)
        cli.send_signal(signal.SIGCONT)
        stdout, stderr = cli.communicate(timeout=120)
    finally:
        if cli.poll() is None:
            cli.kill()
            cli.wait()
    assert cli.returncode == 130, stderr
    assert "Traceback" not in stderr and "interrupted" in stderr
    placed = sorted(out.iterdir())
    assert 1 <= len(placed) < many, [p.name for p in placed]
    jpegs = [p for p in placed if p.suffix == ".jpg"]
    assert all(not p.name.startswith(".") for p in placed)  # no temp file left
    assert f"0 linked, {len(jpegs)} copied" in stdout  # the summary so far, as placed
    whole = hashlib.sha256((shoot / "DSC_0001.jpg").read_bytes()).hexdigest()
    for p in jpegs:
        assert hashlib.sha256(p.read_bytes()).hexdigest() == whole, p  # each placed copy is whole


def test_names_differing_only_in_case_are_two_shots(tmp_path, capsys) -> None:
    # on a case-sensitive file system IMG_1.JPG and img_1.jpg are two photos: a sharp one and a blurred one
    shoot = tmp_path / "case"
    shoot.mkdir()
    upper, lower = shoot / "IMG_1.JPG", shoot / "img_1.jpg"
    shutil.copyfile(TESTDATA / "camera" / "sharp" / "rbh-013.jpg", upper)
    shutil.copyfile(TESTDATA / "camera" / "blurred" / "rbh-009.jpg", lower)
    (shoot / "IMG_1.JPG.xmp").write_text(XMP)
    (shoot / "img_1.jpg.xmp").write_text(XMP)
    home = tmp_path / "home"
    assert main(["--home", str(home), "cull", "--json", str(shoot)]) == 0
    verdicts = {d["path"]: d["verdict"] for d in json.loads(capsys.readouterr().out)["decisions"]}
    assert verdicts[str(upper)] != verdicts[str(lower)], verdicts  # a sharp photo and a blurred one
    for photo in (upper, lower):
        out = tmp_path / f"to-{photo.name}"
        verdict = verdicts[str(photo)].removeprefix("VERDICT_").lower()
        code, _, err = _export(home, str(shoot), "--verdict", verdict, "--to", str(out), capsys=capsys)
        assert code == 0, err
        # its own photo and sidecar only: the other, of another verdict, does not ride along
        assert sorted(os.listdir(out)) == [photo.name, photo.name + ".xmp"]
        assert os.stat(out / photo.name).st_ino == os.stat(photo).st_ino
