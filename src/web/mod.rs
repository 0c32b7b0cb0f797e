//! Web: the dashboard (axum + askama), built in `src/web/`.
