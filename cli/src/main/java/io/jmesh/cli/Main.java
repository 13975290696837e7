package io.jmesh.cli;

/** Placeholder entry point; replaced by the picocli launcher. */
public final class Main {
    private Main() {}

    public static void main(String[] args) {
        System.out.println("jmesh");
    }
}
