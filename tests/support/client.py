from regua_localstack.client import Platform, eventually

__all__ = ["Platform", "eventually"]
