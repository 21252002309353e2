"""The reference for the differential test: Infera's sign-up as a plain FastAPI app with a
pydantic `EmailStr` model. Started by tests/api/differential.rs with uvicorn."""
from fastapi import FastAPI
from pydantic import BaseModel, EmailStr

app = FastAPI()


class SignupRequest(BaseModel):
    email: EmailStr


@app.post("/signup_user")
def signup_user(request: SignupRequest):
    return {
        "email": request.email,
        "status": "pending_verification",
        "message": "Check your inbox to verify your email address.",
    }
