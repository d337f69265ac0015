#!/usr/bin/python3
"""Serve one H.264 clip over RTSP on loopback, for vigil's tests and benches.

Usage:
  /usr/bin/python3 tests/servers/rtsp_server.py --clip FILE.mp4 [--port P]
        [--path /cam] [--host 127.0.0.1] [--loop] [--shared] [--max-seconds S]

--port 0 (the default) lets the kernel pick a free port, so there is no race
between picking a port and binding it. When the server listens it prints
  READY rtsp://HOST:PORT/PATH
on stdout (flushed); read that line to learn the URL. Each client gets its own
pipeline from the start of the clip (unless --shared), paced at the clip's own
rate. --loop starts the clip again at its end, paced, with timestamps that
keep rising. SIGTERM/SIGINT stop it (exit 0); so does --max-seconds (default 300),
so that a test that forgets it does not leave a server running.
Exit codes: 0 stopped, 2 bad arguments or clip, 3 cannot listen.

Needs Debian's python3-gi, gir1.2-gst-rtsp-server-1.0, gstreamer1.0-plugins-
good/-bad (rtph264pay, h264parse, qtdemux). Run with /usr/bin/python3.
"""
import argparse
import os
import signal
import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402

DEMUX = {".mp4": "qtdemux", ".mov": "qtdemux", ".m4v": "qtdemux",
         ".mkv": "matroskademux", ".ts": "tsdemux"}


def loop_media(factory, media):
    """media-configure handler for --loop: play the clip forever.

    The EOS that the demuxer sends at the end of the clip is dropped before
    the parser, and the demuxer gets a flushing seek back to 0 instead. The
    flush events it sends are dropped there too: passed on, they would reset
    the pipeline's running time and pacing would stall for a clip's length
    more at every loop (a non-flushing seek instead stalls the stream after
    the first loop here). The demuxer's new segment starts at running time 0
    again, so the parser's sink pad gets an offset of the running time played
    so far (gst_pad_set_offset): RTP timestamps keep rising and pacing goes
    on, one continuous stream."""
    demux = media.get_element().get_by_name("demux")
    pad = media.get_element().get_by_name("parse").get_static_pad("sink")
    # end of the last buffer and the loop offset (ns); restarting: between
    # our seek and the first buffer after it (the flushes to drop)
    state = {"end": 0, "offset": 0, "restarting": False}

    def restart():
        state["offset"] += state["end"]
        state["end"] = 0
        state["restarting"] = True
        pad.set_offset(state["offset"])
        demux.seek(1.0, Gst.Format.TIME, Gst.SeekFlags.FLUSH,
                   Gst.SeekType.SET, 0, Gst.SeekType.NONE, -1)
        return GLib.SOURCE_REMOVE

    def on_data(pad, info):
        if info.type & Gst.PadProbeType.BUFFER:
            state["restarting"] = False
            buf = info.get_buffer()
            if buf.pts != Gst.CLOCK_TIME_NONE:
                dur = buf.duration if buf.duration != Gst.CLOCK_TIME_NONE else 0
                state["end"] = max(state["end"], buf.pts + dur)
            return Gst.PadProbeReturn.OK
        t = info.get_event().type
        if t == Gst.EventType.EOS:
            # We are on the demuxer's streaming thread: seek from the main
            # loop, the demuxer's seek handler takes this thread's lock.
            GLib.idle_add(restart)
            return Gst.PadProbeReturn.DROP
        if state["restarting"] and t in (Gst.EventType.FLUSH_START, Gst.EventType.FLUSH_STOP):
            return Gst.PadProbeReturn.DROP
        return Gst.PadProbeReturn.OK

    pad.add_probe(Gst.PadProbeType.BUFFER | Gst.PadProbeType.EVENT_DOWNSTREAM
                  | Gst.PadProbeType.EVENT_FLUSH, on_data)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--clip", required=True, help="H.264 clip (.mp4/.mov/.mkv/.ts)")
    ap.add_argument("--port", type=int, default=0, help="0 = pick a free port")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--path", default="/cam")
    ap.add_argument("--loop", action="store_true")
    ap.add_argument("--shared", action="store_true",
                    help="one pipeline for all clients (default: one each)")
    ap.add_argument("--max-seconds", type=float, default=300.0)
    a = ap.parse_args()

    clip = os.path.abspath(a.clip)
    ext = os.path.splitext(clip)[1].lower()
    if not os.path.isfile(clip):
        print(f"rtsp_server: clip '{clip}' not found", file=sys.stderr)
        return 2
    if ext not in DEMUX:
        print(f"rtsp_server: clip '{clip}': unsupported container '{ext}' "
              f"(want one of {', '.join(sorted(DEMUX))})", file=sys.stderr)
        return 2
    if not a.path.startswith("/"):
        a.path = "/" + a.path

    Gst.init(None)
    # config-interval=-1: SPS/PPS before every IDR, so a client that joins a
    # shared or looping stream mid-way can start decoding at the next IDR.
    launch = (f"( filesrc location=\"{clip}\" ! {DEMUX[ext]} name=demux ! h264parse name=parse ! "
              f"rtph264pay name=pay0 pt=96 config-interval=-1 )")
    factory = GstRtspServer.RTSPMediaFactory()
    factory.set_launch(launch)
    factory.set_shared(a.shared)
    if a.loop:
        factory.connect("media-configure", loop_media)

    server = GstRtspServer.RTSPServer()
    server.set_address(a.host)
    server.set_service(str(a.port))
    server.get_mount_points().add_factory(a.path, factory)
    loop = GLib.MainLoop()
    try:
        ok = server.attach(None) != 0
    except GLib.Error:
        ok = False
    if not ok:  # GstRTSPServer does not say why; a port in use is the usual cause
        print(f"rtsp_server: cannot listen on {a.host}:{a.port} (address in use?)",
              file=sys.stderr)
        return 3

    status = {"why": "signal"}

    def stop(why):
        status["why"] = why
        loop.quit()
        return GLib.SOURCE_REMOVE

    GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGTERM, stop, "SIGTERM")
    GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGINT, stop, "SIGINT")
    GLib.timeout_add(int(a.max_seconds * 1000), stop, "max-seconds")

    print(f"READY rtsp://{a.host}:{server.get_bound_port()}{a.path}", flush=True)
    loop.run()
    print(f"rtsp_server: stopping ({status['why']})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
