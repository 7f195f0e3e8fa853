"""The auto-informer's phone channel (issue 9): baresip lines, calls and their outcomes.

``baresip`` writes the configuration of the robot's lines and starts them; ``ctrl`` is the
asyncio client of a line's ctrl_tcp interface; ``call`` places one call and tells its outcome
from the events; ``dialler`` claims queued calls, places them on the free lines and stores each
outcome. What a call says and when it is due are the informer's (robot/informer/phone_message.py,
phone_plan.py, phone_policy.py): this package depends on them, never the other way round.
"""
