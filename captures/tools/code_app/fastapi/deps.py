"""Authentication dependencies of the inventory service."""

from fastapi import Header, HTTPException, status

# Bearer tokens of the test accounts (the same accounts as the Express service).
TOKENS = {
    "tok-alice-4f1c9e": {"id": 1001, "role": "customer"},
    "tok-bob-77a2d0": {"id": 1002, "role": "customer"},
    "tok-carol-0b93e5": {"id": 1003, "role": "admin"},
}


def _user_for(authorization: str | None):
    if not authorization or not authorization.startswith("Bearer "):
        return None
    return TOKENS.get(authorization[len("Bearer "):].strip())


def _unauthorized():
    return HTTPException(
        status_code=status.HTTP_401_UNAUTHORIZED,
        detail="a valid bearer token is required",
        headers={"WWW-Authenticate": "Bearer"},
    )


def verify_token(authorization: str | None = Header(None)):
    # BUG (on purpose, see captures/code.md): the header is optional and only a token that is
    # present and wrong is refused, so a request without any Authorization header gets through.
    if authorization is not None and _user_for(authorization) is None:
        raise _unauthorized()


def require_user(authorization: str | None = Header(None)):
    user = _user_for(authorization)
    if user is None:
        raise _unauthorized()
    return user


def require_admin(authorization: str | None = Header(None)):
    user = require_user(authorization)
    if user["role"] != "admin":
        raise HTTPException(status_code=status.HTTP_403_FORBIDDEN, detail="administrators only")
    return user
