from engage.workspaces.models import Workspace

from .models import Message, MessageDecision


def get_message(*, workspace: Workspace, message_id: int) -> Message | None:
    return Message.objects.filter(workspace=workspace, pk=message_id).first()


def decisions_for_profile(*, workspace: Workspace, profile_id: int):
    """The customer's ledger, newest first: why they got a message, or did not."""
    return MessageDecision.objects.filter(workspace=workspace, profile_id=profile_id)
