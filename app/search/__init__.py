"""Search over manual sections and published rulings (Japanese analysis, one small interface)."""
