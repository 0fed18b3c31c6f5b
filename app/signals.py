"""Named cross-domain signals. Publishers send; listeners (search, notices) subscribe.
The publisher never imports its listeners, so dependencies between packages stay one-way.

Each is sent after the publishing transaction has committed, with keyword arguments only.
"""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

#: a manual version was published: revision_id, manual_id, number, kind ('new'/'revise'/'obsolete')
revision_published = _signals.signal("revision-published")

#: manuals registered by `flask manuals import` (version 1, no workflow): manual_ids
manuals_imported = _signals.signal("manuals-imported")

#: rulings (判断事例) were published to all wards (one by approval, many by import): ruling_ids
ruling_published = _signals.signal("ruling-published")
