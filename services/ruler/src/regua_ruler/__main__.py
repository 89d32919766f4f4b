from regua_platform.service import serve
from regua_ruler.app import SPEC


def main() -> None:
    serve(SPEC)


if __name__ == "__main__":
    main()
