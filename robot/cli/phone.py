"""`mailrobot phone`: the phone channel of the auto-informer (issue 9).

say "текст" [--output FILE] renders a message to the WAV a call would play, for listening, and
refuses one the phone line would refuse (longer than a minute, R23).
dial runs the dialler over the baresip lines `mailrobot up` supervises (MAILROBOT_PHONE_*).
lines writes the lines' baresip configuration and prints how to start each by hand.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from robot.config import Settings

app = typer.Typer(help="The phone auto-informer: speech and calls (issue 9).", no_args_is_help=True)


@app.command("say")
def say(
    text: Annotated[str, typer.Argument(help="What to say, numbers already in words; - reads stdin.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="The WAV to write.")] = Path("phone-message.wav"),
) -> None:
    """Speak TEXT into an 8 kHz 16-bit mono WAV (espeak-ng, voice ru), checked to last at most 60 s."""
    from robot.informer.campaigns import CampaignError
    from robot.informer.sound import SpeechToolError, check_phone_message, synthesise
    from robot.informer.texts import install_filters
    from robot.templating import make_environment

    if text == "-":
        text = sys.stdin.read()
    try:
        synthesise(text, output)
        sound = check_phone_message(output)
    except (SpeechToolError, ValueError) as error:
        typer.echo(f"mailrobot: {error}", err=True)
        raise typer.Exit(2) from error
    except CampaignError as error:
        # A message the line would refuse is not left behind to be mistaken for a usable one.
        output.unlink(missing_ok=True)
        settings = Settings.load()
        env = install_filters(make_environment(settings.templates_dir, settings.tz), settings.tz)
        typer.echo(env.get_template("informer/refusal.txt.j2").render(code=error.code, p=error.params).strip(),
                   err=True)
        raise typer.Exit(1) from error
    typer.echo(f"{output}\t{sound.seconds:.1f} s\t{sound.rate} Hz {8 * sound.sample_width}-bit mono")


@app.command("dial")
def dial() -> None:
    """Run the dialler: place the queued calls of running phone campaigns on the lines, until stopped."""
    import asyncio
    import logging
    import signal

    from robot.app import Robot
    from robot.phone.dialler import Dialler, lines_from_settings

    logging.basicConfig(level=logging.INFO, stream=sys.stdout,
                        format="%(asctime)s %(levelname)s %(name)s[%(process)d]: %(message)s")
    robot = Robot(Settings.load())

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        await Dialler(robot, lines_from_settings(robot.settings)).run(stop)

    try:
        asyncio.run(main())
    finally:
        robot.close()


@app.command("lines")
def lines() -> None:
    """Write the baresip configuration of each line into the data dir and print its command."""
    from robot.phone.baresip import command, write_config
    from robot.phone.dialler import lines_from_settings

    for line in lines_from_settings(Settings.load()):
        write_config(line)
        typer.echo(f"{line.name}\tsip {line.host}:{line.sip_port}\tctrl {line.host}:{line.ctrl_port}\t"
                   f"{' '.join(command(line))}")
