"""The public storefront: pages city buyers open, share and find (issue 17)."""

from bot.web.storefront.blueprint import bp

__all__ = ["bp"]
