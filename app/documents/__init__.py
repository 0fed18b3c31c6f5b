"""Manuals as city documents: upload checking, Word in (.docx → Markdown), Word and PDF out.

`files` checks an uploaded file by its content; `word_in` turns a .docx into Markdown, extracted
images and a report of what could not be carried over; `word_out` and `pdf` write a manual
version, a 新旧対照表 and a 事務引継書 as .docx and PDF; `views` holds the download links and the
editor's 「Wordから取り込む」.
"""
