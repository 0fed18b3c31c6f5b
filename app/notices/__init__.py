"""改正通知: notices to every target ward section on publish, reading, 周知 confirmation, mail, figures."""
