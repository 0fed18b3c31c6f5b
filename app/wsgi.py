"""WSGI entry point for production servers: `gunicorn app.wsgi:app` (`make serve`).

Several hosts behind a load balancer must share one SECRET_KEY (sessions and CSRF tokens are signed
with it): without one in the environment the server refuses to start, unless told it is a single-host
demo (TEBIKI_SINGLE_HOST=1), where a key generated into the instance folder is enough."""

import os
import sys

from app import create_app

if not os.environ.get("SECRET_KEY") and os.environ.get("TEBIKI_SINGLE_HOST") != "1":
    sys.stderr.write(
        "手引（Tebiki）を起動できません: 環境変数 SECRET_KEY が設定されていません。\n"
        "複数のサーバーで運用する場合は、すべてのサーバーに同じ値を設定してください"
        "（例: python3 -c 'import secrets; print(secrets.token_hex(32))' で作成）。\n"
        "1台だけのお試し運用の場合は TEBIKI_SINGLE_HOST=1 を設定すると、instance/secret_key を自動で作成して使います。\n")
    sys.exit(4)

app = create_app({"DB_COMMANDS": False})  # migrations are their own step (`make migrate`)
