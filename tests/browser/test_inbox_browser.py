"""The inbox and the 回执 on a phone in real chromium: the demo grid worker's app bar carries
消息 with its unread count, the inbox lists what needs them, a tap opens the issue (read
then), and a problem's page shows its public code. Run as its own pytest invocation:
``pytest -p no:asyncio -m browser tests/browser/test_inbox_browser.py``."""

from __future__ import annotations

import re

import pytest

from sync.public_code import public_code
from tests.support.browser import AppServer, Phone


@pytest.mark.browser
def test_inbox_and_receipt_on_a_phone(browser, assets, tmp_path):
    server = AppServer(tmp_path / "data", assets, demo=True).start()
    try:
        phone = Phone(browser).open(server.url)
        page = phone.page
        button = page.get_by_role("button", name=re.compile(r"^\d+ 消息$"))  # the badge's count, then 消息
        unread = int(button.first.inner_text().split()[0])
        assert unread > 0  # the demo grid has problems waiting for a 回头看
        button.first.click()
        phone.wait_for("heading", "消息")
        phone.shot("inbox-phone", expect=(("button", "全部标为已读"),))
        page.get_by_role("button", name=re.compile("待回访")).first.click()
        phone.wait_for("heading", "问题详情")
        code = public_code(page.url.rsplit("/", 1)[1])
        assert code in page.inner_text("body")
        phone.shot("issue-receipt-phone", expect=(("button", "返回"),))
        phone.tap("button", "返回")  # to the 问题墙 tab: its app bar has 消息 too
        phone.wait_for("heading", "问题墙")
        after = page.get_by_role("button", name=re.compile(r"消息$")).first
        assert after.inner_text().split()[0] == str(unread - 1), after.inner_text()
        phone.close()
    finally:
        server.stop()
