"""Manual management over time: managers, periodic review, city-wide checks, 事務引継書, 人事異動."""
