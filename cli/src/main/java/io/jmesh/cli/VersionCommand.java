package io.jmesh.cli;

import io.jmesh.proxy.server.ProxyServer;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code jmesh version}: prints the version of this build. */
@Command(name = "version", mixinStandardHelpOptions = true, description = "Print the jmesh version.")
final class VersionCommand implements Runnable {

    @Override
    public void run() {
        System.out.println("jmesh version " + ProxyServer.VERSION + " (java " + System.getProperty("java.version") + ")");
    }

    /** Feeds {@code jmesh --version}. */
    static final class Provider implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            return new String[] {"jmesh " + ProxyServer.VERSION};
        }
    }
}
