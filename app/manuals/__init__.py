"""Manual registry and reading: effective version, history, as-of view, 新旧対照表."""
