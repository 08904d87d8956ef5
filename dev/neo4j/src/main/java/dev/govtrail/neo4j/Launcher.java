package dev.govtrail.neo4j;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import org.neo4j.configuration.GraphDatabaseSettings;
import org.neo4j.configuration.connectors.BoltConnector;
import org.neo4j.configuration.connectors.HttpConnector;
import org.neo4j.configuration.connectors.HttpsConnector;
import org.neo4j.configuration.helpers.SocketAddress;
import org.neo4j.dbms.api.DatabaseManagementService;
import org.neo4j.dbms.api.DatabaseManagementServiceBuilder;
import org.neo4j.graphdb.GraphDatabaseService;

/**
 * Runs Neo4j Community embedded with only the Bolt connector, bound to 127.0.0.1.
 *
 * <p>Settings come from system properties (the script {@code neo4j.sh} sets them):
 *
 * <ul>
 *   <li>{@code govtrail.neo4j.home} – data directory (required)
 *   <li>{@code govtrail.neo4j.port} – Bolt port; 0 picks a free one (default 7687)
 *   <li>{@code govtrail.neo4j.pagecache} – page cache size in MiB (default 128)
 *   <li>{@code govtrail.neo4j.txMemory} – global transaction memory limit in MiB (default 256)
 * </ul>
 *
 * <p>Bolt advertises {@code 127.0.0.1:PORT}, so a routing ({@code neo4j://}) client is sent
 * back to the same address by the routing table Community answers with.
 *
 * <p>Once Bolt accepts connections it writes {@code bolt://127.0.0.1:PORT} to
 * {@code <home>/bolt.uri} (atomically) and prints it. SIGTERM/SIGINT shut the database down
 * cleanly and remove that file. Authentication is disabled: this is a loopback-only
 * development database, never a production one.
 */
public final class Launcher {
    private Launcher() {}

    public static void main(String[] args) throws Exception {
        Path home = Path.of(required("govtrail.neo4j.home")).toAbsolutePath();
        int port = Integer.parseInt(System.getProperty("govtrail.neo4j.port", "7687"));
        long pageCacheMiB = Long.parseLong(System.getProperty("govtrail.neo4j.pagecache", "128"));
        long txMemoryMiB = Long.parseLong(System.getProperty("govtrail.neo4j.txMemory", "256"));
        if (port == 0) {
            port = freePort();
        }
        Files.createDirectories(home);
        Path uriFile = home.resolve("bolt.uri");
        Files.deleteIfExists(uriFile);

        DatabaseManagementService dbms = new DatabaseManagementServiceBuilder(home)
                .setConfig(BoltConnector.enabled, true)
                .setConfig(BoltConnector.listen_address, new SocketAddress("127.0.0.1", port))
                // What ROUTE answers with: a neo4j:// client is routed back to this address.
                .setConfig(BoltConnector.advertised_address, new SocketAddress("127.0.0.1", port))
                .setConfig(BoltConnector.encryption_level, BoltConnector.EncryptionLevel.DISABLED)
                .setConfig(HttpConnector.enabled, false)
                .setConfig(HttpsConnector.enabled, false)
                .setConfig(GraphDatabaseSettings.auth_enabled, false)
                .setConfig(GraphDatabaseSettings.pagecache_memory, pageCacheMiB * 1024 * 1024)
                .setConfig(GraphDatabaseSettings.memory_transaction_global_max_size, txMemoryMiB * 1024 * 1024)
                .setConfig(GraphDatabaseSettings.lock_acquisition_timeout, Duration.ofSeconds(10))
                .build();

        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                Files.deleteIfExists(uriFile);
            } catch (IOException ignored) {
                // The script treats a stale file as "not running" once the pid is gone.
            }
            dbms.shutdown();
            stopped.countDown();
        }, "neo4j-shutdown"));

        // Touch the default database so the first client does not pay for its start-up.
        GraphDatabaseService db = dbms.database(GraphDatabaseSettings.DEFAULT_DATABASE_NAME);
        db.executeTransactionally("RETURN 1");

        String uri = "bolt://127.0.0.1:" + port;
        Path tmp = home.resolve("bolt.uri.tmp");
        Files.writeString(tmp, uri + "\n", StandardCharsets.UTF_8);
        Files.move(tmp, uriFile, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        System.out.println("READY " + uri);
        System.out.flush();
        stopped.await();
    }

    private static String required(String name) {
        String value = System.getProperty(name);
        if (value == null || value.isBlank()) {
            throw new IllegalArgumentException("missing system property " + name);
        }
        return value;
    }

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            socket.setReuseAddress(true);
            return socket.getLocalPort();
        }
    }
}
