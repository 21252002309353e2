// `sqlx::migrate!` embeds the migration files at compile time, but cargo does not know it
// reads them: rebuild this crate when a migration is added or changed.
fn main() {
    println!("cargo:rerun-if-changed=../../migrations");
}
