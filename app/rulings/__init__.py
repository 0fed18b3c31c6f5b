"""疑義照会 / 改善提案 → answer → 課長 approval → 判断事例 (published to every ward)."""
