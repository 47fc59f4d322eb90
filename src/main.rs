fn main() {
    println!("speechfront: commands to come");
}
