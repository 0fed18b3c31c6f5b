"""Organisation: units (本庁 sections, ward sections), users, positions, permissions."""
