from engage.metrics.service import service
from tests.metrics.dataset import END, START


def test_repeat_contact_and_context_retention(shop):
    result = service(shop.workspace, start=START, end=END)
    # Solved: Ann 20 Jan (opens another ticket 22 Jan), Bob 12 Feb (nothing after).
    assert (result.solved_customers, result.repeat_customers) == (2, 1)
    assert result.repeat_contact_rate == 0.5
    # Conversations: Cy on WhatsApp 3 Feb 10:00, continued by SMS at 20:00;
    # Bob by SMS 9 Feb, on no other channel. Cy's SMS starts none: it came
    # 10 hours after her WhatsApp message.
    assert (result.conversations, result.continued) == (2, 1)
    assert result.context_retention == 0.5


def test_shorter_windows(shop):
    result = service(shop.workspace, start=START, end=END, repeat_days=1, context_hours=8)
    # Ann's new ticket came 2 days after the solve; Cy's SMS 10 hours after
    # her WhatsApp message, so it starts a conversation of its own.
    assert result.repeat_customers == 0
    assert (result.conversations, result.continued) == (3, 0)
