"""Search's own tables (the no-result log moved to app.usage): the synonym / 表記ゆれ table the
admin keeps."""

from __future__ import annotations

import hashlib
from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import Model, UTCDateTime
from app.wareki import now_utc

SYNONYM = "synonym"  # 同義語・略称 (国保 → 国民健康保険)
VARIANT = "variant"  # 表記ゆれ (住民票写し → 住民票の写し)
KIND_LABELS = {SYNONYM: "同義語・略称", VARIANT: "表記ゆれ"}


class SynonymGroup(Model):
    """One canonical word and the words searched as it (in documents and queries alike)."""

    __tablename__ = "search_synonyms"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    canonical: Mapped[str] = mapped_column(String(100), unique=True)
    variants: Mapped[str] = mapped_column(Text, default="")  # one per line
    kind: Mapped[str] = mapped_column(String(16), default=SYNONYM)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now_utc)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    @property
    def variant_list(self) -> list[str]:
        return [v for v in self.variants.split("\n") if v]

    @property
    def stamp(self) -> str:
        """What the edit form was opened on: a save whose stamp differs was made on an older state."""
        return hashlib.blake2b(f"{self.canonical}\0{self.variants}\0{self.kind}".encode(), digest_size=8).hexdigest()
