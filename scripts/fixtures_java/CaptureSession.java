// One scripted session of the Apache ZooKeeper Java client, run through the recording proxy of
// scripts/capture_fixtures.py. Its only purpose is to make the real Java client put on the wire
// the requests that zkCli.sh cannot send (multi, multiRead, checkWatches, createTTL with a Stat,
// reconfig, SetWatches and SetWatches2 after a reconnect), so that their bytes can be kept as
// golden fixtures.
//
// Protocol with the capture script, over stdout (one line each):
//   "STEP <text>"  a progress note, copied into the capture log;
//   "DROP"         please cut my TCP connection now; the program then waits (bounded) until the
//                  client reports Disconnected followed by SyncConnected on a new connection.
// Any unexpected outcome throws, which makes the process exit non-zero: a loud failure.

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.apache.zookeeper.AddWatchMode;
import org.apache.zookeeper.CreateMode;
import org.apache.zookeeper.KeeperException;
import org.apache.zookeeper.Op;
import org.apache.zookeeper.OpResult;
import org.apache.zookeeper.WatchedEvent;
import org.apache.zookeeper.Watcher;
import org.apache.zookeeper.ZooDefs;
import org.apache.zookeeper.admin.ZooKeeperAdmin;
import org.apache.zookeeper.data.ACL;
import org.apache.zookeeper.data.Id;
import org.apache.zookeeper.data.Stat;
import org.apache.zookeeper.server.auth.DigestAuthenticationProvider;

public final class CaptureSession {
    private static final int SESSION_TIMEOUT_MS = 15_000;
    private static final long WAIT_LIMIT_SECONDS = 30;
    private static final List<ACL> OPEN = ZooDefs.Ids.OPEN_ACL_UNSAFE;

    /** Collects connection-state changes so the program can wait for a reconnect. */
    private static final class StateRecorder implements Watcher {
        private final BlockingQueue<Event.KeeperState> states = new LinkedBlockingQueue<>();

        @Override
        public void process(WatchedEvent event) {
            if (event.getType() == Event.EventType.None) {
                states.add(event.getState());
            } else {
                say("event " + event.getType() + " " + event.getPath());
            }
        }

        void awaitState(Event.KeeperState wanted) throws InterruptedException {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(WAIT_LIMIT_SECONDS);
            while (true) {
                long left = deadline - System.nanoTime();
                Event.KeeperState state = states.poll(Math.max(left, 0), TimeUnit.NANOSECONDS);
                if (state == null) {
                    throw new IllegalStateException("timed out waiting for " + wanted);
                }
                if (state == wanted) {
                    return;
                }
            }
        }
    }

    /** A callback that lets a synchronous-looking step wait for an asynchronous operation. */
    @FunctionalInterface
    private interface KeeperAction {
        void run() throws KeeperException, InterruptedException;
    }

    public static void main(String[] args) throws Exception {
        if (args.length != 1) {
            throw new IllegalArgumentException("usage: CaptureSession HOST:PORT");
        }
        StateRecorder states = new StateRecorder();
        ZooKeeperAdmin zk = new ZooKeeperAdmin(args[0], SESSION_TIMEOUT_MS, states);
        states.awaitState(Watcher.Event.KeeperState.SyncConnected);
        say("connected session 0x" + Long.toHexString(zk.getSessionId()));

        createEveryMode(zk);
        errorsAndAuth(zk);
        watchesThatFire(zk);
        transactions(zk);
        serverQueries(zk);
        persistentWatches(zk);

        // Reconnect while standard and persistent watches are registered: SetWatches2 (105).
        registerStandardWatches(zk);
        dropAndReconnect(states);
        removeWatchesOnServer(zk);

        // Reconnect with standard watches only: the client falls back to SetWatches (101).
        registerStandardWatches(zk);
        dropAndReconnect(states);
        zk.sync("/java", (rc, path, ctx) -> { }, null);
        zk.exists("/java", false);

        step("close");
        zk.close();
    }

    private static void createEveryMode(ZooKeeperAdmin zk) throws Exception {
        step("create with null data, empty data and every CreateMode");
        zk.create("/java", null, OPEN, CreateMode.PERSISTENT);
        zk.create("/java/empty", new byte[0], OPEN, CreateMode.PERSISTENT);
        zk.create("/java/seq-", bytes("s"), OPEN, CreateMode.PERSISTENT_SEQUENTIAL);
        zk.create("/java/eph", bytes("e"), OPEN, CreateMode.EPHEMERAL);
        zk.create("/java/ephseq-", bytes("es"), OPEN, CreateMode.EPHEMERAL_SEQUENTIAL);
        Stat stat = new Stat();
        zk.create("/java/withstat", bytes("create2"), OPEN, CreateMode.PERSISTENT, stat);
        zk.create("/java/container", null, OPEN, CreateMode.CONTAINER);
        zk.create("/java/ttl", bytes("t"), OPEN, CreateMode.PERSISTENT_WITH_TTL, stat, 60_000);
        zk.create("/java/ttlseq-", bytes("ts"), OPEN,
            CreateMode.PERSISTENT_SEQUENTIAL_WITH_TTL, stat, 60_000);
    }

    private static void errorsAndAuth(ZooKeeperAdmin zk) throws Exception {
        step("replies with an error code");
        expectError(KeeperException.Code.NODEEXISTS,
            () -> zk.create("/java", null, OPEN, CreateMode.PERSISTENT));
        expectError(KeeperException.Code.NONODE, () -> zk.getData("/java/missing", false, null));
        expectError(KeeperException.Code.NONODE,
            () -> zk.create("/java/missing/child", null, OPEN, CreateMode.PERSISTENT));
        expectError(KeeperException.Code.NOTEMPTY, () -> zk.delete("/java", -1));
        expectError(KeeperException.Code.BADVERSION, () -> zk.setData("/java/empty", bytes("x"), 99));
        expectError(KeeperException.Code.NOCHILDRENFOREPHEMERALS,
            () -> zk.create("/java/eph/child", null, OPEN, CreateMode.PERSISTENT));

        step("digest ACL, NoAuth, then addAuthInfo");
        String digest = DigestAuthenticationProvider.generateDigest("alice:secret");
        List<ACL> locked = Arrays.asList(
            new ACL(ZooDefs.Perms.ALL, new Id("digest", digest)),
            new ACL(ZooDefs.Perms.READ, ZooDefs.Ids.ANYONE_ID_UNSAFE));
        zk.create("/java/locked", bytes("secret"), locked, CreateMode.PERSISTENT);
        expectError(KeeperException.Code.NOAUTH, () -> zk.setData("/java/locked", bytes("x"), -1));
        zk.addAuthInfo("digest", bytes("alice:secret"));
        zk.setData("/java/locked", bytes("opened"), -1);
        Stat stat = new Stat();
        zk.getACL("/java/locked", stat);
        zk.setACL("/java/locked", OPEN, stat.getAversion());
        expectError(KeeperException.Code.BADVERSION, () -> zk.setACL("/java/locked", OPEN, 42));
    }

    private static void watchesThatFire(ZooKeeperAdmin zk) throws Exception {
        step("one-shot watches and the notifications they cause");
        Stat stat = new Stat();
        zk.getData("/java/empty", true, stat);
        expectError(KeeperException.Code.NONODE, () -> zk.getData("/java/later", true, null));
        zk.exists("/java/later", true);
        zk.getChildren("/java", true);
        zk.getChildren("/java", true, stat);
        zk.setData("/java/empty", null, -1);
        zk.create("/java/later", bytes("l"), OPEN, CreateMode.PERSISTENT);
        zk.exists("/java/later", true);
        zk.delete("/java/later", -1);
    }

    private static void transactions(ZooKeeperAdmin zk) throws Exception {
        step("multi that succeeds, multi that fails, multiRead with a failing read");
        zk.multi(Arrays.asList(
            Op.create("/java/m1", bytes("1"), OPEN, CreateMode.PERSISTENT),
            Op.setData("/java/m1", bytes("2"), 0),
            Op.check("/java/m1", 1),
            Op.create("/java/mc", null, OPEN, CreateMode.CONTAINER),
            Op.create("/java/mt", bytes("t"), OPEN, CreateMode.PERSISTENT_WITH_TTL, 60_000),
            Op.create("/java/ms-", null, OPEN, CreateMode.PERSISTENT_SEQUENTIAL),
            Op.delete("/java/m1", -1)));
        try {
            zk.multi(Arrays.asList(
                Op.create("/java/f1", null, OPEN, CreateMode.PERSISTENT),
                Op.check("/java/empty", 999),
                Op.delete("/java/withstat", -1)));
            throw new IllegalStateException("failing multi succeeded");
        } catch (KeeperException expected) {
            say("multi failed as planned: " + expected.code());
        }
        List<OpResult> reads = zk.multi(Arrays.asList(
            Op.getChildren("/java"),
            Op.getData("/java/withstat"),
            Op.getData("/java/missing")));
        say("multiRead answered " + reads.size() + " results");
    }

    private static void serverQueries(ZooKeeperAdmin zk) throws Exception {
        step("getEphemerals, getAllChildrenNumber, whoAmI, getConfig, reconfig, sync");
        zk.getEphemerals("/java");
        zk.getEphemerals();
        zk.getAllChildrenNumber("/java");
        zk.whoAmI();
        zk.getConfig(true, new Stat());
        try {
            zk.reconfigure("server.9=127.0.0.1:2888:3888;2181", null, null, -1, new Stat());
            throw new IllegalStateException("reconfig on a standalone server succeeded");
        } catch (KeeperException expected) {
            say("reconfig refused as planned: " + expected.code());
        }
        CountDownLatch synced = new CountDownLatch(1);
        zk.sync("/java", (rc, path, ctx) -> synced.countDown(), null);
        await(synced, "sync");
    }

    private static void persistentWatches(ZooKeeperAdmin zk) throws Exception {
        step("addWatch PERSISTENT and PERSISTENT_RECURSIVE, then changes that fire them");
        zk.addWatch("/java/pw", AddWatchMode.PERSISTENT);
        zk.addWatch("/java/tree", AddWatchMode.PERSISTENT_RECURSIVE);
        zk.create("/java/pw", null, OPEN, CreateMode.PERSISTENT);
        zk.setData("/java/pw", bytes("changed"), -1);
        zk.create("/java/tree", null, OPEN, CreateMode.PERSISTENT);
        zk.create("/java/tree/leaf", bytes("leaf"), OPEN, CreateMode.PERSISTENT);
        zk.setData("/java/tree/leaf", bytes("leaf2"), -1);
        zk.delete("/java/tree/leaf", -1);
    }

    private static final Watcher SPECIFIC_WATCHER = event -> say("specific watcher " + event);

    private static void registerStandardWatches(ZooKeeperAdmin zk) throws Exception {
        step("register data, exist and child watches");
        zk.getData("/java/withstat", SPECIFIC_WATCHER, new Stat());
        zk.exists("/java/nothere", true);
        zk.getChildren("/java", true);
    }

    private static void removeWatchesOnServer(ZooKeeperAdmin zk) throws Exception {
        step("removeWatches for one watcher (checkWatches) and removeAllWatches");
        zk.removeWatches("/java/withstat", SPECIFIC_WATCHER, Watcher.WatcherType.Data, false);
        zk.removeAllWatches("/java/pw", Watcher.WatcherType.Any, false);
        zk.removeAllWatches("/java/tree", Watcher.WatcherType.Any, false);
        zk.removeAllWatches("/java", Watcher.WatcherType.Children, false);
        zk.removeAllWatches("/java/nothere", Watcher.WatcherType.Data, false);
    }

    private static void dropAndReconnect(StateRecorder states) throws InterruptedException {
        say("DROP");
        states.awaitState(Watcher.Event.KeeperState.Disconnected);
        states.awaitState(Watcher.Event.KeeperState.SyncConnected);
        say("reconnected");
    }

    private static void expectError(KeeperException.Code wanted, KeeperAction action)
        throws InterruptedException {
        try {
            action.run();
        } catch (KeeperException error) {
            if (error.code() != wanted) {
                throw new IllegalStateException("wanted " + wanted + " but got " + error.code(), error);
            }
            return;
        }
        throw new IllegalStateException("wanted " + wanted + " but the call succeeded");
    }

    private static void await(CountDownLatch latch, String what) throws InterruptedException {
        if (!latch.await(WAIT_LIMIT_SECONDS, TimeUnit.SECONDS)) {
            throw new IllegalStateException("timed out waiting for " + what);
        }
    }

    private static byte[] bytes(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }

    private static void step(String text) {
        say("STEP " + text);
    }

    private static synchronized void say(String line) {
        System.out.println(line);
        System.out.flush();
    }
}
