"""Named cross-domain signals. Publishers send; listeners (search, notices) subscribe.
The publisher never imports its listeners, so dependencies between packages stay one-way.

Each is sent after the publishing transaction has committed, with keyword arguments only.
"""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

#: a manual version was published: revision_id, manual_id, number, kind ('new'/'revise'/'obsolete')
revision_published = _signals.signal("revision-published")

#: a ruling (判断事例) was published to all wards: ruling_id
ruling_published = _signals.signal("ruling-published")
