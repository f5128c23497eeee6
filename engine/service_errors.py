"""The service's refusals. str(error) (also .message) is the exact reply to the user: plain words that say what
is wrong and what to do. Subclasses let a transport pick a keyboard or a help line; the words are the same."""

from __future__ import annotations


class ServiceError(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotRegistered(ServiceError):
    def __init__(self) -> None:
        super().__init__("You are not registered yet. Send /start first.")


class AccountBlocked(ServiceError):
    def __init__(self) -> None:
        super().__init__("Your Quorum account is blocked by the operator; nothing can be changed.")


class NotAnAdmin(ServiceError):
    """An admin call from someone who is not one of the operator's admins (ADMIN_TELEGRAM_IDS)."""

    def __init__(self) -> None:
        super().__init__("Only the operator's admins can do that.")


class InvalidInput(ServiceError):
    """An argument that cannot be read (a budget that is not a number, leverage out of range, ...)."""


class UnknownExchange(ServiceError):
    pass


class UnknownSymbol(ServiceError):
    pass


class NoAccount(ServiceError):
    def __init__(self) -> None:
        super().__init__(
            "You have no connected account. Connect one first: /connect paper 10000 for paper trading, or "
            "/connect <exchange> <key> <secret> for a live account."
        )


class AlreadyConnected(ServiceError):
    pass


class MasterKeyRequired(ServiceError):
    pass


class CredentialsRejected(ServiceError):
    pass


class ExchangeUnavailable(ServiceError):
    pass


class PairAlreadyAdded(ServiceError):
    pass


class PairNotFound(ServiceError):
    pass


class BudgetExceeded(ServiceError):
    pass


class PositionStillOpen(ServiceError):
    pass


class NoOpenPosition(ServiceError):
    pass


class EnginesNotRunning(ServiceError):
    def __init__(self, what: str) -> None:
        super().__init__(
            f"The trading engines do not run in this process, so Quorum cannot {what} from here. Do it from the "
            "bot's chat, where the engines run."
        )


class EngineFailed(ServiceError):
    """The database change stands but a running engine could not follow it, or an engine action failed."""


class InvalidSetting(ServiceError):
    pass


class NothingToResume(ServiceError):
    def __init__(self) -> None:
        super().__init__("No circuit breaker is open: your pairs may open new positions as usual.")


class NoDecisions(ServiceError):
    pass


class ServiceUnavailable(ServiceError):
    def __init__(self) -> None:
        super().__init__("Quorum cannot reach its database right now; nothing was changed. Try again in a minute.")
