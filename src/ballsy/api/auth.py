"""``/api/auth``: password login, refresh, who am I, my API keys, WebSocket tickets.

``token`` and ``refresh`` are the only public routes here (they *are* the way in);
everything else acts on the authenticated caller and only on their own keys.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, status
from pydantic import BaseModel, ConfigDict, Field

from ballsy.accounts.schemas import KeyCreated, KeyCreateIn, KeyOut
from ballsy.accounts.service import check_may_create_key
from ballsy.api.deps import AccountsDep, AuthDep, CurrentUser, SettingsDep
from ballsy.api.openapi import ObjectId, errors
from ballsy.scope import Owner
from ballsy.security.tokens import TokenPair

router = APIRouter(prefix="/api/auth", tags=["auth"], responses=errors(403))


class LoginIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=1, max_length=128)
    password: str = Field(min_length=1, max_length=1024)


class RefreshIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    refresh_token: str = Field(min_length=1, max_length=4096)


class TokenOut(BaseModel):
    access_token: str
    refresh_token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth2 scheme name, not a secret
    expires_in: int = Field(description="Seconds the access token is valid.")
    refresh_expires_in: int

    @classmethod
    def of(cls, pair: TokenPair) -> TokenOut:
        return cls(
            access_token=pair.access_token,
            refresh_token=pair.refresh_token,
            expires_in=pair.expires_in,
            refresh_expires_in=pair.refresh_expires_in,
        )


class MeOut(BaseModel):
    id: str
    name: str
    role: str
    auth: str = Field(description="How this request authenticated: none, apikey, jwt.")


class TicketOut(BaseModel):
    ticket: str = Field(description="Pass as ?ticket= when opening the WebSocket; works once.")
    expires_in: int


@router.post("/token", response_model=TokenOut, responses=errors(401, 404, 429))
async def login(body: LoginIn, request: Request, auth: AuthDep) -> TokenOut:
    """Password login (``AUTH_MODE=jwt``): an access and a refresh token."""
    client_ip = request.client.host if request.client else "unknown"
    return TokenOut.of(await auth.login(body.username, body.password, client_ip))


@router.post("/refresh", response_model=TokenOut, responses=errors(401, 404))
async def refresh(body: RefreshIn, auth: AuthDep) -> TokenOut:
    """A new token pair; the refresh token sent is spent."""
    return TokenOut.of(await auth.refresh(body.refresh_token))


@router.get("/me", response_model=MeOut)
async def me(user: CurrentUser) -> MeOut:
    return MeOut(id=user.user_id, name=user.name, role=user.role, auth=user.via)


@router.get("/keys", response_model=list[KeyOut])
async def my_keys(user: CurrentUser, accounts: AccountsDep) -> list[KeyOut]:
    return await accounts.list_keys(user.user_id)


@router.post(
    "/keys",
    response_model=KeyCreated,
    status_code=status.HTTP_201_CREATED,
    responses=errors(403, 409),
)
async def create_my_key(
    body: KeyCreateIn, user: CurrentUser, accounts: AccountsDep, settings: SettingsDep
) -> KeyCreated:
    """A new key for yourself: needs a password login of the last
    ``API_KEY_FRESH_LOGIN_S`` seconds (or the admin role); it expires within
    ``API_KEY_MAX_DAYS`` and never after the key that created it."""
    check_may_create_key(user, fresh_login_s=settings.api_key_fresh_login_s)
    return await accounts.create_key(
        user.user_id,
        name=body.name,
        expires_in_days=body.expires_in_days,
        creator=user,
        max_days=settings.api_key_max_days,
    )


@router.delete("/keys/{key_id}", response_model=KeyOut)
async def revoke_my_key(key_id: ObjectId, user: CurrentUser, accounts: AccountsDep) -> KeyOut:
    """Revoke one of your keys (someone else's key id is a 404)."""
    return await accounts.revoke_key(key_id, Owner(user.user_id))


@router.post("/ws-ticket", response_model=TicketOut)
async def ws_ticket(user: CurrentUser, auth: AuthDep) -> TicketOut:
    """A short-lived, single-use ticket for a browser's WebSocket (no headers there)."""
    ticket = await auth.issue_ws_ticket(user)
    return TicketOut(ticket=ticket, expires_in=auth.ticket_ttl)
