"""The Click that Typer runs on: its own copy (typer >= 0.20 vendors it as ``typer._click``) or the click package."""

try:
    from typer._click.core import ParameterSource
    from typer._click.exceptions import ClickException, NoArgsIsHelpError, UsageError
except ImportError:  # older Typer on the click package
    from click.core import ParameterSource
    from click.exceptions import ClickException, NoArgsIsHelpError, UsageError

__all__ = ["ClickException", "NoArgsIsHelpError", "ParameterSource", "UsageError"]
