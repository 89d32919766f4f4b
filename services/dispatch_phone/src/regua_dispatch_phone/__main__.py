from regua_dispatch_phone.app import SPEC
from regua_platform.service import serve


def main() -> None:
    serve(SPEC)


if __name__ == "__main__":
    main()
