"""Phone audio and video (MP4, M4A, 3GP, MOV): remuxed by ffmpeg without metadata, never re-encoded.

`ffmpeg -map 0:V? -map 0:a? -map_metadata -1 -map_chapters -1 -c copy -fflags +bitexact` (with bitexact
muxing of each stream) copies the sound and picture packets as they are into a new container of the same
family; what goes: every container and stream tag (GPS position `©xyz`/ISO 6709 location, title, artist,
album, comment, recording device make and model, software, creation dates: the movie, track and media
headers are dated zero), chapters, and the streams that are not sound or picture: data and timed-metadata
tracks (camera telemetry, dash-cam and drone GPS), subtitles, and cover pictures (`0:V` leaves out attached
pictures, which carry their own EXIF). `+faststart` puts the index first so the file plays while it
downloads. The input is forced to the ISO-media demuxer (`-f mov`) and only the `file` protocol is allowed,
so a crafted file cannot make ffmpeg open anything else (external data references stay off by default).
ffmpeg runs under `sandbox` limits: a file it cannot read is refused, as is one it takes too long over.
"""

from __future__ import annotations

from typing import BinaryIO

from . import Refused, sandbox

MUXERS = {"mp4": "mp4", "m4a": "ipod", "3gp": "3gp", "mov": "mov"}


def command(kind: str) -> list[str]:
    return [
        "ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error",
        "-protocol_whitelist", "file", "-f", "mov", "-i", "file:{input}",
        "-map", "0:V?", "-map", "0:a?", "-map_metadata", "-1", "-map_chapters", "-1",
        "-c", "copy", "-fflags", "+bitexact", "-flags:v", "+bitexact", "-flags:a", "+bitexact",
        "-movflags", "+faststart", "-f", MUXERS[kind], "-y", "file:{output}",
    ]  # fmt: skip


def clean(source: BinaryIO, sink: BinaryIO, kind: str, limits: sandbox.Limits) -> None:
    """Remux `source` (of `kind`) into `sink` without metadata; Refused on failure."""
    try:
        written = sandbox.run(command(kind), source, sink, limits)
    except sandbox.ToolMissing as exc:
        raise Refused("unavailable", "ffmpeg") from exc
    except sandbox.ToolTimeout as exc:
        raise Refused("timeout", "ffmpeg") from exc
    except sandbox.ToolFailed as exc:
        raise Refused("media", exc.stderr[-200:]) from exc
    if written == 0:
        raise Refused("media", "no output")
