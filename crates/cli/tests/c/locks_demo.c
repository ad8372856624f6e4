/* A program that freezes the ways Asterisk does, for ast-locks' capture tests:
 * - cycle_a and cycle_b take two mutexes in opposite orders (a 2-cycle);
 * - convoy_holder takes convoy_lock and sleeps; three convoy_waiter threads wait for it;
 * - table_reader holds table_lock for reading and sleeps; table_writer waits to write.
 * It prints "ready" once every thread is where it will stay, then waits forever. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <unistd.h>

static pthread_mutex_t cycle_a_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t cycle_b_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t convoy_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_rwlock_t table_lock = PTHREAD_RWLOCK_INITIALIZER;
static pthread_barrier_t both_hold;
static atomic_int holder_ready, reader_ready;

static void *cycle_a_main(void *arg) {
    (void)arg;
    pthread_mutex_lock(&cycle_a_lock);
    pthread_barrier_wait(&both_hold);
    pthread_mutex_lock(&cycle_b_lock);
    return NULL;
}

static void *cycle_b_main(void *arg) {
    (void)arg;
    pthread_mutex_lock(&cycle_b_lock);
    pthread_barrier_wait(&both_hold);
    pthread_mutex_lock(&cycle_a_lock);
    return NULL;
}

static void *convoy_holder_main(void *arg) {
    (void)arg;
    pthread_mutex_lock(&convoy_lock);
    atomic_store(&holder_ready, 1);
    for (;;) {
        sleep(1000);
    }
    return NULL;
}

static void *convoy_waiter_main(void *arg) {
    (void)arg;
    while (!atomic_load(&holder_ready)) {
        usleep(1000);
    }
    pthread_mutex_lock(&convoy_lock);
    return NULL;
}

static void *table_reader_main(void *arg) {
    (void)arg;
    pthread_rwlock_rdlock(&table_lock);
    atomic_store(&reader_ready, 1);
    for (;;) {
        sleep(1000);
    }
    return NULL;
}

static void *table_writer_main(void *arg) {
    (void)arg;
    while (!atomic_load(&reader_ready)) {
        usleep(1000);
    }
    pthread_rwlock_wrlock(&table_lock);
    return NULL;
}

static void start(void *(*fn)(void *), const char *name) {
    pthread_t t;
    pthread_create(&t, NULL, fn, NULL);
    pthread_setname_np(t, name);
}

int main(void) {
    pthread_barrier_init(&both_hold, NULL, 2);
    start(cycle_a_main, "cycle_a");
    start(cycle_b_main, "cycle_b");
    start(convoy_holder_main, "convoy_holder");
    start(convoy_waiter_main, "convoy_waiter");
    start(convoy_waiter_main, "convoy_waiter");
    start(convoy_waiter_main, "convoy_waiter");
    start(table_reader_main, "table_reader");
    start(table_writer_main, "table_writer");
    /* Time for every waiter to block in the kernel. */
    usleep(300 * 1000);
    printf("ready %d\n", (int)getpid());
    fflush(stdout);
    for (;;) {
        pause();
    }
    return 0;
}
