"""``ballsy transcribe --progress`` through the job pipeline, and ``ballsy jobs …``."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import srt
from typer.testing import CliRunner

from ballsy.cli import cli


def test_transcribe_with_progress_and_the_jobs_commands(
    tmp_path: Path, recording_40s: tuple[Path, str]
) -> None:
    runner = CliRunner()
    env = {"BALLSY_DATA_DIR": str(tmp_path), "DATABASE_URL": "", "JOB_CHUNK_SECONDS": "15"}
    out = tmp_path / "talk.srt"
    result = runner.invoke(
        cli, ["transcribe", str(recording_40s[0]), "--progress", "-f", "srt", "-o", str(out)],
        env=env,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "100%" in result.output and "talk-40s.wav" in result.output  # the bar, on stderr
    cues = list(srt.parse(out.read_text()))
    assert len(cues) >= 4 and "country" in " ".join(c.content for c in cues).lower()

    listed = runner.invoke(cli, ["jobs", "list"], env=env)
    assert listed.exit_code == 0 and "done" in listed.output
    job_id = re.search(r"[0-9a-f]{8}-[0-9a-f-]{27}", listed.output)
    assert job_id is not None
    shown = runner.invoke(cli, ["jobs", "show", job_id.group(0)], env=env)
    summary = json.loads(shown.output)
    assert summary["status"] == "done" and summary["progress"] == 1.0
    assert summary["timings"]["audio_s_per_s"] > 1
    # The copy of the recording is freed once the job is done; the transcript stays.
    assert not [p for p in (tmp_path / "media").rglob("*") if p.is_file()]
    assert list((tmp_path / "outputs").rglob("transcript.srt"))

    time.sleep(0.5)
    purged = runner.invoke(cli, ["jobs", "purge", "--hours", "0.0001"], env=env)  # 0.36 s
    assert purged.exit_code == 0 and "purged 1 job(s)" in purged.output
    assert runner.invoke(cli, ["jobs", "show", job_id.group(0)], env=env).exit_code == 2
    assert not list((tmp_path / "outputs").rglob("transcript.srt"))
    missing = runner.invoke(cli, ["jobs", "cancel", job_id.group(0)], env=env)
    assert missing.exit_code == 2 and "no transcription job" in missing.output


def test_transcribe_progress_refuses_a_corrupt_file(tmp_path: Path) -> None:
    junk = tmp_path / "junk.wav"
    junk.write_bytes(b"RIFF....WAVEfmt " + b"\x07" * 4000)
    result = CliRunner().invoke(
        cli, ["transcribe", str(junk), "--progress"],
        env={"BALLSY_DATA_DIR": str(tmp_path), "DATABASE_URL": ""},
    )  # fmt: skip
    assert result.exit_code == 2 and "error:" in result.output
